# Copyright (c) pst-mm contributors. All rights reserved.
from typing import List, Sequence, Tuple

import torch.nn as nn
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


class BaseYOLOBackbone(BaseModule):
    """Five stages run in sequence (0 = stem, strides 2 or 4 up to 32),
    returning the ``out_indices`` stage outputs: what
    :class:`YOLO11Backbone` and :class:`YOLOResNet` share (the MMYOLO
    ``BaseBackbone`` pattern). A subclass builds its stages and hands them
    to :meth:`set_stages`.

    Args:
        out_indices (Sequence[int]): Stages to return (a non-empty subset of
            0..4).
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
    """

    num_stages = 5

    def __init__(self,
                 out_indices: Sequence[int],
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(self.num_stages)
                                  for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty subset of '
                             f'0..{self.num_stages - 1}, got {out_indices}')
        self.out_indices = out_indices

    def set_stages(self, stages: Sequence[nn.Module],
                   widths: Sequence[int]) -> None:
        """Keep the stages and the output channels of ``out_indices``.

        Args:
            stages (Sequence[nn.Module]): One module per stage.
            widths (Sequence[int]): Output channels of each stage.
        """
        self.stages = nn.ModuleList(stages)
        self.out_channels: List[int] = [widths[i] for i in self.out_indices]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """
        Args:
            x (Tensor): Images (B, 3, H, W).

        Returns:
            tuple[Tensor]: The ``out_indices`` stage outputs.
        """
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
