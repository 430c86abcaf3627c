# Copyright (c) pst-mm contributors. All rights reserved.
"""Find a pst-mm config by its name, as ``mim`` and OpenMMLab inferencers do.

A source checkout keeps the configs next to the package (``<repo>/configs``);
an installed wheel carries them in ``pst_mm/.mim/configs`` (``setup.py``'s
``add_mim_extension``; symlinks in an editable install). A name is the file
name without ``.py``, e.g. ``retinanet_r50_pst-n_1x_coco``.
"""
import difflib
import glob
import os.path as osp
from typing import List

PKG_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def config_roots() -> List[str]:
    """Folders holding pst-mm's ``configs``, most specific first.

    The source checkout's ``<repo>/configs`` comes first (what mmengine's
    ``BaseInferencer._get_repo_or_mim_dir`` picks too), then the installed
    ``pst_mm/.mim/configs``.

    Returns:
        list[str]: The existing ``configs`` folders.
    """
    candidates = [
        osp.join(osp.dirname(PKG_DIR), 'configs'),
        osp.join(PKG_DIR, '.mim', 'configs'),
    ]
    return [c for c in candidates if osp.isdir(c)]


def list_configs() -> List[str]:
    """Names of all pst-mm configs (``_base_`` files excluded), sorted.

    Returns:
        list[str]: Config names without folder and ``.py``.
    """
    names = set()
    for root in config_roots():
        for path in glob.glob(osp.join(root, '**', '*.py'), recursive=True):
            if '_base_' not in osp.relpath(path, root).split(osp.sep):
                names.add(osp.splitext(osp.basename(path))[0])
    return sorted(names)


def find_config(name_or_path: str) -> str:
    """The config file of a pst-mm config name, or the path itself.

    Args:
        name_or_path (str): A config file path (returned unchanged when it
            exists), or a config name such as ``'retinanet_r50_pst-n_1x_coco'``
            (with or without ``.py``), looked up in :func:`config_roots`.

    Returns:
        str: The path of the config file.

    Raises:
        FileNotFoundError: When it is neither a file nor a known name, with
            the closest names, if any.
    """
    if osp.isfile(name_or_path):
        return name_or_path
    name = osp.basename(name_or_path)
    if name.endswith('.py'):
        name = name[:-3]
    roots = config_roots()
    for root in roots:
        hits = sorted(
            p for p in glob.glob(
                osp.join(root, '**', name + '.py'), recursive=True)
            if '_base_' not in osp.relpath(p, root).split(osp.sep))
        if len(hits) > 1:
            raise FileNotFoundError(
                f'config name {name} is ambiguous: {", ".join(hits)}')
        if hits:
            return hits[0]
    if not roots:
        raise FileNotFoundError(
            f'config {name_or_path} not found: it is no file, and pst_mm has '
            f'no configs folder ({osp.dirname(PKG_DIR)}/configs or '
            f'{PKG_DIR}/.mim/configs)')
    close = difflib.get_close_matches(name, list_configs(), n=3)
    hint = f'; did you mean {", ".join(close)}?' if close else ''
    raise FileNotFoundError(
        f'config {name_or_path} not found: no such file and no pst-mm config '
        f'of that name{hint}')
