# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Sequence

import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from torch import Tensor

from ..layers.yolo_blocks import YOLO_ACT_CFG, YOLO_NORM_CFG, yolo_conv
from .base_yolo_backbone import BaseYOLOBackbone


class YOLOResNetBlock(nn.Module):
    """Bottleneck block of the YOLO ResNet: 1x1 -> 3x3 (stride) -> 1x1 to
    ``expansion * channels`` (SiLU after the first two convs), a 1x1
    projection shortcut when the shape changes, ReLU after the sum.

    Args:
        in_channels (int): Input channels.
        channels (int): Bottleneck width.
        stride (int): Stride of the 3x3 conv. Defaults to 1.
        expansion (int): Output width over ``channels``. Defaults to 4.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation inside the block. Defaults to SiLU.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 stride: int = 1,
                 expansion: int = 4,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__()
        out = expansion * channels
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = yolo_conv(in_channels, channels, 1, **cfg)
        self.conv2 = yolo_conv(channels, channels, 3, stride, **cfg)
        self.conv3 = yolo_conv(channels, out, 1, act=False, norm_cfg=norm_cfg)
        self.shortcut = yolo_conv(
            in_channels, out, 1, stride, act=False, norm_cfg=norm_cfg) if (
                stride != 1 or in_channels != out) else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return (self.conv3(self.conv2(self.conv1(x))) +
                self.shortcut(x)).relu()


@MODELS.register_module()
class YOLOResNet(BaseYOLOBackbone):
    """The bottleneck ResNet of the PST paper's Table 1 detectors (the
    reference ``ResNetLayer`` backbone).

    Stem: 7x7 stride-2 conv + BN + SiLU, 3x3 stride-2 max-pool; then four
    stages of bottlenecks (expansion 4; widths 64/128/256/512, so C2-C5 have
    256/512/1024/2048 channels; stride on the 3x3 conv of each stage's first
    block). Every depth uses bottlenecks: ``depth=18`` is (2, 2, 2, 2)
    bottlenecks with a 2048-channel C5 (not torchvision's BasicBlock
    ResNet-18), 50 is (3, 4, 6, 3), 101 is (3, 4, 23, 3). Unlike the
    classification :class:`BottleneckResNet` (mmpretrain's blocks, ReLU),
    the convs use SiLU and only the residual sum is followed by ReLU, as in
    the reference detectors.

    Args:
        depth (int): 18, 50 or 101.
        out_indices (Sequence[int]): Stages to return, 0 = stem, 1-4 =
            C2-C5. Defaults to (2, 3, 4) (C3-C5).
        norm_cfg (dict): Norm config. Defaults to BN (eps 1e-3,
            momentum 0.03).
        act_cfg (dict): Activation of the convs. Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Example:
        >>> import torch
        >>> net = YOLOResNet(18)
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 64, 64))]
        [(1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    arch_settings = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

    def __init__(self,
                 depth: int,
                 out_indices: Sequence[int] = (2, 3, 4),
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'YOLOResNet depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        super().__init__(out_indices, init_cfg)
        self.depth = depth
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        stages = [
            nn.Sequential(
                yolo_conv(3, 64, 7, 2, **cfg),
                nn.MaxPool2d(3, stride=2, padding=1))
        ]
        widths = [64]
        in_ch = 64
        for i, n in enumerate(self.arch_settings[depth]):
            ch = 64 * 2**i
            blocks = [
                YOLOResNetBlock(in_ch if j == 0 else 4 * ch, ch,
                                2 if i > 0 and j == 0 else 1, 4, **cfg)
                for j in range(n)
            ]
            stages.append(nn.Sequential(*blocks))
            in_ch = 4 * ch
            widths.append(in_ch)
        self.set_stages(stages, widths)
