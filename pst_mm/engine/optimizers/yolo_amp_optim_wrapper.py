# Copyright (c) pst-mm contributors. All rights reserved.
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import AmpOptimWrapper

from .yolo_optim_wrapper import YOLOOptimWrapper


@OPTIM_WRAPPERS.register_module()
class YOLOAmpOptimWrapper(YOLOOptimWrapper, AmpOptimWrapper):
    """:class:`YOLOOptimWrapper` with mixed precision through mmengine's
    :class:`~mmengine.optim.AmpOptimWrapper`.

    Why a class of its own: the accumulation rule lives in
    :class:`YOLOOptimWrapper` and AMP in ``AmpOptimWrapper``; this one
    combines them (MRO: accumulation rule, then AMP, then ``OptimWrapper``),
    giving what the reference trainer does each iteration: forward under
    autocast, ``scaler.scale(loss).backward()``, and on stepping iterations
    ``unscale_``, clip the gradient norm, ``scaler.step``,
    ``scaler.update``, ``zero_grad``. Like ``AmpOptimWrapper`` it needs an
    accelerator (CUDA, NPU, MLU or MUSA).

    The arguments are :class:`YOLOOptimWrapper`'s, which passes
    ``loss_scale`` and ``dtype`` on to ``AmpOptimWrapper`` (next in the MRO).

    Args:
        optimizer (Optimizer): The optimizer.
        batch_size_per_gpu (int): Images per GPU per iteration.
        nbs (int): Nominal batch size. Defaults to 64.
        clip_grad (dict, optional): ``clip_grad_norm_`` arguments.
            Defaults to None (``max_norm=10``).
        loss_scale (str | float | dict): ``AmpOptimWrapper``'s loss scale;
            ``'dynamic'`` is the reference's ``GradScaler()``. Defaults to
            'dynamic'.
        dtype (str | torch.dtype, optional): Autocast dtype. Defaults to
            None (float16).
        accumulative_counts (int): Must stay 1. Defaults to 1.
    """
