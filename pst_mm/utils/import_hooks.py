# Copyright (c) pst-mm contributors. All rights reserved.
"""Keep ``import mmpretrain`` working next to transformers >= 5.

mmpretrain 1.2 turns its multimodal models on whenever ``transformers>=4.28``
is installed, and their modules then fail on names transformers 5 removed
(``class BertPreTrainedModel(PreTrainedModel)`` with ``PreTrainedModel =
None``), so ``import mmpretrain`` - and mmdet, which imports it, and pst_mm -
crash. :func:`keep_mmpretrain_importable` (called by ``import pst_mm``
before anything imports mmdet or mmpretrain) sets mmpretrain's
``WITH_MULTIMODAL`` to False as its module is loaded. No installed package
is edited. The hook lives on ``sys.meta_path`` (process-wide by nature) only
until that one module is loaded.
"""
import importlib.abc
import importlib.machinery
import importlib.metadata
import logging
import sys
from typing import Optional

# mmpretrain 1.2 turns multimodal models on for transformers >= 4.28; its
# multimodal code imports names that transformers 5 removed.
_MMPRETRAIN_DEPENDENCY = 'mmpretrain.utils.dependency'


def _major(version: str) -> int:
    head = version.split('.', 1)[0]
    return int(head) if head.isdigit() else 0


def mmpretrain_multimodal_blocker() -> Optional[str]:
    """Why mmpretrain's multimodal import must stay off here (a reason for
    the log), or None when it can run as mmpretrain decides.

    Reads only package metadata: transformers itself is not imported.
    """
    try:
        version = importlib.metadata.version('transformers')
    except importlib.metadata.PackageNotFoundError:
        return None
    if _major(version) < 5:
        return None
    try:
        mmpretrain_version = importlib.metadata.version('mmpretrain')
    except importlib.metadata.PackageNotFoundError:
        return None
    if not mmpretrain_version.startswith('1.'):
        return None  # a later mmpretrain may handle transformers 5
    return (f'transformers {version} is installed; mmpretrain '
            f'{mmpretrain_version}\'s multimodal models need transformers 4')


class _MultimodalOffLoader(importlib.abc.Loader):
    """Runs the real loader of ``mmpretrain.utils.dependency``, then sets
    ``WITH_MULTIMODAL = False`` before anything reads it."""

    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        module.WITH_MULTIMODAL = False


class _MultimodalOffFinder(importlib.abc.MetaPathFinder):
    """Finds ``mmpretrain.utils.dependency`` as usual, with the loader
    above; removes itself after that one module."""

    def find_spec(self, name, path=None, target=None):
        if name != _MMPRETRAIN_DEPENDENCY:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _MultimodalOffLoader(spec.loader)
        return spec


def keep_mmpretrain_importable() -> bool:
    """Keep ``import mmpretrain`` (and mmdet, pst_mm) working when the
    installed transformers breaks mmpretrain's multimodal models.

    Idempotent; installed packages are not edited. Must run before
    mmpretrain is imported: ``import pst_mm`` calls it first thing.

    Returns:
        bool: Whether the multimodal import was turned off.
    """
    reason = mmpretrain_multimodal_blocker()
    if reason is None:
        return False
    loaded = sys.modules.get(_MMPRETRAIN_DEPENDENCY)
    if loaded is not None:  # too late for mmpretrain's own modules
        loaded.WITH_MULTIMODAL = False
    elif not any(isinstance(f, _MultimodalOffFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MultimodalOffFinder())
    logging.getLogger(__name__).debug(
        'mmpretrain multimodal models off: %s', reason)
    return True


__all__ = ['keep_mmpretrain_importable', 'mmpretrain_multimodal_blocker']
