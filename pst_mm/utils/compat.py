# Copyright (c) pst-mm contributors. All rights reserved.
"""Fixes for what mmengine 0.10.7 gets wrong on torch >= 2.6 / CPU machines.

Nothing here edits an installed package; each fix is applied by our own code
(``import pst_mm`` for checkpoint loading, the launchers for the rest).

* Checkpoints: torch >= 2.6 loads with ``weights_only=True`` by default, and
  mmengine checkpoints hold ``HistoryBuffer`` objects, numpy arrays, dtypes
  and scalars in their ``message_hub`` state. We allowlist exactly those
  globals with ``torch.serialization.add_safe_globals``; safe loading stays
  on, so a checkpoint can still not run arbitrary code.
* Distributed on CPU: mmengine's ``init_dist`` calls ``torch.cuda.set_device``
  and its DDP wrapper passes ``device_ids=[local_rank]``; both fail without a
  GPU. :func:`init_distributed` starts a ``gloo`` group itself when CUDA is
  absent, and :class:`CPUCompatibleDDP` drops ``device_ids`` for CPU models.
* AMP on CPU: ``AmpOptimWrapper`` asserts a GPU. :func:`adapt_cfg_to_device`
  switches such configs to ``OptimWrapper`` on CPU, with a log line.
* transformers >= 5: mmpretrain 1.2 turns its multimodal models on whenever
  ``transformers>=4.28`` is installed, and their modules then fail on names
  transformers 5 removed (``class BertPreTrainedModel(PreTrainedModel)``
  with ``PreTrainedModel = None``), so ``import mmpretrain`` - and mmdet,
  which imports it, and pst_mm - crash. :func:`keep_mmpretrain_importable`
  (called by ``import pst_mm`` before anything imports mmdet or mmpretrain)
  sets mmpretrain's ``WITH_MULTIMODAL`` to False as its module is loaded.
"""
import importlib.abc
import importlib.machinery
import importlib.metadata
import logging
import os
import pickle
import sys
from typing import List, Optional

import numpy as np
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


def _numpy_checkpoint_globals() -> List[object]:
    """numpy globals that pickled arrays, dtypes and scalars refer to."""
    try:  # numpy >= 2 moved the pickling helpers to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    allowed: List[object] = [_reconstruct, scalar, np.ndarray, np.dtype]
    # dtype objects pickle as their class, e.g. numpy.dtypes.Float64DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType')
        ]
    return allowed


def _history_buffer_getattr(obj, name: str):
    """What ``builtins.getattr`` may do while loading a checkpoint.

    A ``HistoryBuffer`` pickles its statistics methods (``min``, ``max``,
    ``current``, ``mean`` and any registered one) as ``getattr(HistoryBuffer,
    'min')``. Allowlisting the real ``getattr`` would hand any attribute of
    any unpickled object to the checkpoint; this stand-in, registered under
    the name ``builtins.getattr``, resolves those methods and nothing else.
    """
    allowed = set(HistoryBuffer._statistics_methods) | {
        'min', 'max', 'current', 'mean'
    }
    if (obj is HistoryBuffer or isinstance(obj, HistoryBuffer)) \
            and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({type(obj).__name__}, {name!r}); '
        'only HistoryBuffer statistics methods are allowed under '
        'weights_only loading')


def allow_mmengine_checkpoints() -> None:
    """Allowlist what mmengine checkpoints contain for ``weights_only`` loads.

    Idempotent. Covers ``resume``, ``load_from`` and ``tools/test.py CONFIG
    CHECKPOINT`` without ever turning ``weights_only`` off: the allowlist is
    ``HistoryBuffer``, the numpy array/dtype/scalar reconstructors, and a
    ``getattr`` restricted to HistoryBuffer's statistics methods.
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:  # torch < 2.4 does not load weights_only by default
        return
    add([HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
        _numpy_checkpoint_globals())


@MODEL_WRAPPERS.register_module()
class CPUCompatibleDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU models.

    mmengine's Runner always passes ``device_ids=[local_rank]``, which DDP
    rejects for a module on the CPU; here it is dropped when the module has
    no CUDA parameters, and kept otherwise.
    """

    def __init__(self, module, **kwargs) -> None:
        on_cuda = any(p.is_cuda for p in module.parameters())
        if not on_cuda:
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        super().__init__(module=module, **kwargs)


def init_distributed(launcher: str, backend: str = None) -> None:
    """Start the process group for ``launcher`` unless it already exists.

    With CUDA, mmengine's own ``init_dist`` is used (nccl by default). Without
    it, a ``gloo`` group is initialised from the torchrun/Slurm environment
    so that the Runner finds it and skips mmengine's CUDA-only start-up.

    Args:
        launcher (str): ``'none'``, ``'pytorch'`` or ``'slurm'``
            (``'mpi'`` is left to mmengine).
        backend (str, optional): The config's ``env_cfg.dist_cfg.backend``;
            without CUDA, ``None`` and ``'nccl'`` become ``'gloo'``.
            Defaults to None.
    """
    if launcher == 'none' or dist.is_available() and dist.is_initialized():
        return
    if torch.cuda.is_available():
        from mmengine.dist import init_dist
        kwargs = {} if backend is None else dict(backend=backend)
        init_dist(launcher, **kwargs)
        return
    if launcher == 'slurm':
        # Same environment mapping as mmengine's _init_dist_slurm.
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        os.environ.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in os.environ:
            import subprocess
            node_list = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {node_list} | head -n1')
    elif launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r} is not supported without '
                         'CUDA; use pytorch (torchrun) or slurm')
    if backend in (None, 'nccl'):
        # mmdet/mmpretrain runtimes ask for nccl, which needs GPUs.
        backend = 'gloo'
    dist.init_process_group(backend=backend)
    print_log(
        f'CUDA is not available: initialised a {dist.get_backend()} process '
        f'group (rank {dist.get_rank()}/{dist.get_world_size()})',
        logger='current')


def adapt_cfg_to_device(cfg: Config) -> Config:
    """Make a config runnable on the current device, in place.

    Without CUDA: AMP optimizer wrappers become ``OptimWrapper`` (fp32), and
    distributed runs use :class:`CPUCompatibleDDP`.

    Args:
        cfg (Config): A full training/testing config.

    Returns:
        Config: ``cfg`` itself.
    """
    if torch.cuda.is_available():
        return cfg
    optim_wrapper = cfg.get('optim_wrapper')
    if optim_wrapper is not None and \
            optim_wrapper.get('type') == 'AmpOptimWrapper':
        optim_wrapper.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            optim_wrapper.pop(key, None)
        print_log(
            'CUDA is not available: AmpOptimWrapper replaced by OptimWrapper '
            '(fp32 training)',
            logger='current')
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='CPUCompatibleDDP',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') == \
            'MMDistributedDataParallel':
        wrapper.type = 'CPUCompatibleDDP'
    return cfg


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
