# Copyright (c) pst-mm contributors. All rights reserved.
"""AMP configs on a machine without CUDA.

mmengine's ``AmpOptimWrapper`` asserts a GPU; :func:`drop_amp` switches
such configs to ``OptimWrapper`` (fp32 training) with a log line, so every
config in ``configs/`` also runs on a CPU machine (the launchers call it
there, through :func:`~pst_mm.utils.launch.adapt_cfg_to_device`).
"""
from mmengine.config import Config
from mmengine.logging import print_log


def drop_amp(cfg: Config) -> None:
    """Turn an ``AmpOptimWrapper`` into ``OptimWrapper`` (fp32), dropping
    its AMP-only keys, in place; other optimizer wrappers stay.

    Args:
        cfg (Config): A full training config.
    """
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


__all__ = ['drop_amp']
