# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Optional

import math

import torch
from mmdet.models.layers import ExpMomentumEMA
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class YOLOModelEMA(ExpMomentumEMA):
    """mmdet's :class:`~mmdet.models.layers.ExpMomentumEMA` updated as the
    Ultralytics (8.3) ``ModelEMA``: every floating-point entry of the state
    dict (parameters and buffers) becomes ``d * ema + (1 - d) * model``
    with ``d = (1 - momentum) * (1 - exp(-updates / gamma))``, ``updates``
    counting the updates from 1. With ``momentum=1e-4, gamma=2000`` that is
    the reference's ``0.9999 * (1 - exp(-updates / 2000))``.

    Why not ``ExpMomentumEMA`` itself: its decay is the same (its
    ``steps`` is ``updates - 1``), but mmengine's ``update_parameters``
    copies the model at the first update instead of averaging it with the
    starting weights. Here the first update averages too, integer buffers
    keep the starting model's values, and the average is computed in the
    reference's order of operations (``ExpMomentumEMA``'s
    ``mul_(1 - m).add_(src, alpha=m)`` rounds differently, ~1e-7).
    :class:`YOLOEMAHook` sets the starting weights to the model's when
    training starts.

    Args:
        model (nn.Module): The model to average.
        momentum (float): ``1 - decay``, in (0, 1). Defaults to 0.0001.
        gamma (int): The ramp's time constant ``tau`` in updates, > 0.
            Defaults to 2000.
        device (torch.device, optional): Where to keep the average.
            Defaults to None (the model's device).
    """

    def __init__(self,
                 model: nn.Module,
                 momentum: float = 0.0001,
                 gamma: int = 2000,
                 device: Optional[torch.device] = None) -> None:
        super().__init__(
            model,
            momentum=momentum,
            gamma=gamma,
            interval=1,
            device=device,
            update_buffers=True)

    def avg_func(self, averaged_param: torch.Tensor,
                 source_param: torch.Tensor, steps: int) -> None:
        """``averaged = d * averaged + (1 - d) * source`` for the
        ``steps + 1``-th update."""
        decay = (1 - self.momentum) * (1 - math.exp(-(steps + 1) / self.gamma))
        averaged_param.mul_(decay)
        averaged_param.add_((1 - decay) * source_param)

    def update_parameters(self, model: nn.Module) -> None:
        """Average ``model``'s floating-point state into the EMA."""
        src = model.state_dict()
        steps = int(self.steps)
        for key, avg in self.avg_parameters.items():
            if avg.dtype.is_floating_point:
                self.avg_func(avg.data, src[key].data.to(avg.device), steps)
        self.steps += 1
