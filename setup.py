# Copyright (c) pst-mm contributors. All rights reserved.
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    with open(osp.join(HERE, 'pst_mm', 'version.py'), encoding='utf-8') as f:
        match = re.search(r"^__version__ = '([^']+)'", f.read(), re.M)
    if match is None:
        raise RuntimeError('pst_mm/version.py defines no __version__')
    return match.group(1)


def parse_requirements(fname: str) -> list:
    """Read a requirements file, following ``-r`` includes, skipping comments."""
    reqs = []
    with open(osp.join(HERE, fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='pst_mm',
    version=get_version(),
    description='Pyramid Sparse Transformer for MMDetection and MMPretrain',
    long_description=long_description,
    long_description_content_type='text/markdown',
    keywords='computer vision, object detection, attention, feature pyramid',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    python_requires='>=3.8',
    license='Apache License 2.0',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'all': parse_requirements('requirements/runtime.txt') +
        parse_requirements('requirements/mminstall.txt') +
        parse_requirements('requirements/optional.txt'),
        'mim': parse_requirements('requirements/mminstall.txt'),
        'tests': parse_requirements('requirements/tests.txt'),
        'optional': parse_requirements('requirements/optional.txt'),
    },
    zip_safe=False,
)
