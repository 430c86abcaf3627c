# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Optional, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ConvPoolClsHead(LinearClsHead):
    """Classification head that convolves before pooling: 1x1 conv + BN +
    activation, global average pooling, dropout and a linear classifier.

    The head of the PST paper's classification models (Table 3; the
    authors' code uses Ultralytics' ``Classify`` with 1280 hidden channels
    for every row, baselines included). mmpretrain's ``LinearClsHead`` reads
    a pooled vector; this head reads the last feature *map*, so the neck (if
    any) must not pool.

    Args:
        num_classes (int): Number of categories.
        in_channels (int): Channels of the input map.
        mid_channels (int): Channels of the 1x1 conv, the classifier's
            input. Defaults to 1280.
        dropout (float): Dropout before the classifier. Defaults to 0.0.
        norm_cfg (dict): Norm after the conv. Defaults to BN.
        act_cfg (dict): Activation after the norm. Defaults to SiLU.
        init_cfg (dict, optional): Initialization config of the classifier.
            Defaults to ``dict(type='Normal', layer='Linear', std=0.01)``.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` of ``ClsHead``.

    Example:
        >>> import torch
        >>> head = ConvPoolClsHead(10, 256, mid_channels=64)
        >>> tuple(head((torch.rand(2, 256, 7, 7), )).shape)
        (2, 10)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 mid_channels: int = 1280,
                 dropout: float = 0.0,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 init_cfg: Optional[dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        for name, val in (('in_channels', in_channels),
                          ('mid_channels', mid_channels)):
            if not isinstance(val, int) or val <= 0:
                raise ValueError(f'{name} must be a positive int, got {val!r}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout!r}')
        super().__init__(num_classes, mid_channels, init_cfg=init_cfg,
                         **kwargs)
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.conv = ConvModule(
            in_channels, mid_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)

    def pre_logits(self, feats: Tuple[Tensor]) -> Tensor:
        """The pooled, dropped-out conv features of ``feats[-1]``,
        (B, mid_channels)."""
        x = feats[-1]
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'ConvPoolClsHead reads a (B, {self.in_channels}, H, W) map, '
                f'got {tuple(x.shape)}; a neck before it must not pool '
                f'(e.g. PSTClsNeck(global_pool=False), or no neck)')
        return self.drop(self.pool(self.conv(x)).flatten(1))
