# Copyright (c) pst-mm contributors. All rights reserved.
from typing import List, Sequence

import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig

from ..layers.yolo_blocks import (YOLO_ACT_CFG, YOLO_NORM_CFG, A2C2f, C2PSA,
                                  C3k2, SPPF, get_yolo_scale, yolo_conv)
from .base_yolo_backbone import BaseYOLOBackbone


@MODELS.register_module()
class YOLO11Backbone(BaseYOLOBackbone):
    """CSP backbone of YOLOv11 (``arch='v11'``) and YOLOv12 (``arch='v12'``).

    Five stages (stride 2, 4, 8, 16, 32); at width 1 the layout is::

        0  Conv 64 s2
        1  Conv 128 s2, C3k2 256 (x2, e=0.25)
        2  Conv 256 s2, C3k2 512 (x2, e=0.25)                      -> P3
        3  Conv 512 s2, v11: C3k2 512 (x2, c3k)                    -> P4
                        v12: A2C2f 512 (x4, area attention, area 4)
        4  Conv 1024 s2, v11: C3k2 1024 (x2, c3k), SPPF, C2PSA (x2) -> P5
                         v12: A2C2f 1024 (x4, global attention)

    and ``scale`` applies the reference depth / width / max-channel
    multipliers (m/l/x use C3k inner blocks in every C3k2; l/x add the
    layer-scaled residual to the attention A2C2f). The PST paper's released
    "YOLOv11-PST" uses the v12 layout with plain (ungrouped) stride convs.
    Input sizes that are multiples of 32 keep every level exact.

    Args:
        arch (str): ``'v11'`` or ``'v12'``. Defaults to 'v11'.
        scale (str): ``'n'``, ``'s'``, ``'m'``, ``'l'`` or ``'x'``.
            Defaults to 'n'.
        out_indices (Sequence[int]): Stages to return. Defaults to
            (2, 3, 4) (P3-P5).
        norm_cfg (dict): Norm config. Defaults to BN (eps 1e-3,
            momentum 0.03).
        act_cfg (dict): Activation config. Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Example:
        >>> import torch
        >>> net = YOLO11Backbone('v12', 'n')
        >>> [tuple(o.shape) for o in net(torch.rand(1, 3, 64, 64))]
        [(1, 128, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2)]
    """

    def __init__(self,
                 arch: str = 'v11',
                 scale: str = 'n',
                 out_indices: Sequence[int] = (2, 3, 4),
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        if arch not in ('v11', 'v12'):
            raise ValueError(f"arch must be 'v11' or 'v12', got {arch!r}")
        super().__init__(out_indices, init_cfg)
        sc = get_yolo_scale(scale)
        self.arch = arch
        self.scale = scale
        ch, rep = sc.channels, sc.repeats
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        c = [ch(64), ch(128), ch(256), ch(256), ch(512), ch(512), ch(512),
             ch(1024), ch(1024)]
        stages: List[List[nn.Module]] = [
            [yolo_conv(3, c[0], 3, 2, **cfg)],
            [yolo_conv(c[0], c[1], 3, 2, **cfg),
             C3k2(c[1], c[2], rep(2), sc.c3k, 0.25, **cfg)],
            [yolo_conv(c[2], c[3], 3, 2, **cfg),
             C3k2(c[3], c[4], rep(2), sc.c3k, 0.25, **cfg)],
            [yolo_conv(c[4], c[5], 3, 2, **cfg)],
            [yolo_conv(c[6], c[7], 3, 2, **cfg)],
        ]
        if arch == 'v11':
            stages[3].append(C3k2(c[5], c[6], rep(2), True, **cfg))
            stages[4] += [
                C3k2(c[7], c[8], rep(2), True, **cfg),
                SPPF(c[8], c[8], 5, **cfg),
                C2PSA(c[8], c[8], rep(2), **cfg)
            ]
        else:
            residual, mlp_ratio = sc.a2c2f_residual
            stages[3].append(
                A2C2f(c[5], c[6], rep(4), True, 4, residual, mlp_ratio,
                      **cfg))
            stages[4].append(
                A2C2f(c[7], c[8], rep(4), True, 1, residual, mlp_ratio,
                      **cfg))
        self.set_stages([nn.Sequential(*s) for s in stages],
                        [c[0], c[2], c[4], c[6], c[8]])
