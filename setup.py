# Copyright (c) pst-mm contributors. All rights reserved.
import os
import os.path as osp
import platform
import re
import shutil
import sys
import warnings

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


def add_mim_extension() -> None:
    """Put the configs, tools and model index into ``pst_mm/.mim``, as
    OpenMMLab packages do, so that ``mim`` and name lookups
    (``pst_mm.utils.config_lookup.find_config``) find them once installed.

    Editable installs (``pip install -e .``) get symlinks to the originals,
    everything else (wheel, sdist, ``pip install .``) copies.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        # symlinks fail on Windows
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return  # egg_info and the like: nothing is packaged

    mim_path = osp.join(HERE, 'pst_mm', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in ['tools', 'configs', 'model-index.yml']:
        src_path = osp.join(HERE, filename)
        if not osp.exists(src_path):
            continue
        tar_path = osp.join(mim_path, filename)
        if osp.isfile(tar_path) or osp.islink(tar_path):
            os.remove(tar_path)
        elif osp.isdir(tar_path):
            shutil.rmtree(tar_path)
        if mode == 'symlink':
            os.symlink(
                osp.relpath(src_path, osp.dirname(tar_path)), tar_path)
        elif osp.isfile(src_path):
            shutil.copyfile(src_path, tar_path)
        elif osp.isdir(src_path):
            shutil.copytree(
                src_path,
                tar_path,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            warnings.warn(f'cannot copy {src_path} into pst_mm/.mim')


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

add_mim_extension()

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
    license_files=['LICENSE'],
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
