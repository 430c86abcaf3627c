# Copyright (c) pst-mm contributors. All rights reserved.
"""Distributed runs without CUDA.

mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
wrapper passes ``device_ids=[local_rank]``; both fail without a GPU.
:func:`init_distributed` starts a ``gloo`` group itself when CUDA is
absent, and :class:`CPUCompatibleDDP` (selected by :func:`use_cpu_ddp`)
drops ``device_ids`` for CPU models. The launchers apply both without CUDA
(:mod:`pst_mm.utils.launch`); no installed package is edited.
"""
import os

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


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


def use_cpu_ddp(cfg: Config) -> None:
    """Wrap distributed models in :class:`CPUCompatibleDDP`, in place:
    mmengine's default wrapper is replaced, a custom one kept.

    Args:
        cfg (Config): A full training/testing config.
    """
    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='CPUCompatibleDDP',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif wrapper.get('type', 'MMDistributedDataParallel') == \
            'MMDistributedDataParallel':
        wrapper.type = 'CPUCompatibleDDP'


__all__ = ['CPUCompatibleDDP', 'init_distributed', 'use_cpu_ddp']
