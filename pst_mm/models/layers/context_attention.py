# Copyright (c) pst-mm contributors. All rights reserved.
"""AC-FPN's context extraction module (CEM) and attention-guided module
(AM = context attention CxAM + content attention CnAM), Cao et al.,
arXiv 2005.11475."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from .checks import check_positive_ints


class ContextExtraction(nn.Module):
    """Densely connected dilated branches over C5, plus a global-pooling
    branch (AC-FPN's CEM).

    Branch ``i`` sees ``cat[C5, y_0, ..., y_{i-1}]`` (DenseASPP-style dense
    connections) through a 1x1 conv to ``mid_channels`` and a 3x3 conv of
    dilation ``dilations[i]`` to ``branch_channels``. All branch outputs,
    the input and the upsampled image-level feature are concatenated and a
    1x1 conv maps them to ``out_channels``.

    Args:
        in_channels (int): Channels of C5.
        out_channels (int): Output channels.
        mid_channels (int): Channels after each branch's 1x1 conv.
            Defaults to 512.
        branch_channels (int): Channels of each branch output.
            Defaults to 256.
        dilations (Sequence[int]): Dilation of each branch.
            Defaults to (3, 6, 12, 18, 24).
        dilated_conv_cfg (dict, optional): Conv config of the dilated 3x3
            convs, e.g. ``dict(type='DCNv2')`` for deformable ones.
            Defaults to None (plain conv).
        norm_cfg (dict, optional): Norm config. Defaults to GN(32).
        act_cfg (dict): Activation. Defaults to ReLU.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: int = 512,
                 branch_channels: int = 256,
                 dilations: Sequence[int] = (3, 6, 12, 18, 24),
                 dilated_conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='ReLU')) -> None:
        super().__init__()
        dilations = tuple(dilations)
        if not dilations or not all(
                isinstance(d, int) and d >= 1 for d in dilations):
            raise ValueError(f'dilations must be a non-empty sequence of '
                             f'positive ints, got {dilations!r}')
        check_positive_ints(
            'ContextExtraction',
            in_channels=in_channels,
            out_channels=out_channels,
            mid_channels=mid_channels,
            branch_channels=branch_channels)
        norm = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.branches = nn.ModuleList()
        for i, d in enumerate(dilations):
            self.branches.append(
                nn.Sequential(
                    ConvModule(in_channels + i * branch_channels,
                               mid_channels, 1, **norm),
                    ConvModule(
                        mid_channels,
                        branch_channels,
                        3,
                        padding=d,
                        dilation=d,
                        conv_cfg=dilated_conv_cfg,
                        **norm)))
        # No norm on the 1x1 image-level map: GN/BN statistics over one
        # position per channel group are degenerate.
        self.image_pool = ConvModule(
            in_channels, branch_channels, 1, act_cfg=act_cfg)
        self.fuse = ConvModule(
            in_channels + (len(dilations) + 1) * branch_channels,
            out_channels, 1, **norm)

    def forward(self, x: Tensor) -> Tensor:
        feats = [x]
        for branch in self.branches:
            feats.append(branch(torch.cat(feats, 1)))
        pooled = self.image_pool(x.mean((2, 3), keepdim=True))
        feats.append(pooled.expand(-1, -1, *x.shape[-2:]))
        return self.fuse(torch.cat(feats, 1))


class MeanAffinityAttention(nn.Module):
    """AC-FPN's CxAM / CnAM: a sigmoid spatial gate from the mean affinity
    of each position to all positions, applied to a value projection.

    With ``q_i``, ``k_j`` 1x1 projections of the guide map, the gate of
    position ``i`` is ``sigmoid(mean_j q_i . k_j)`` (the paper's relation
    map averaged over keys, as in the authors' release). Since the mean is
    linear, ``mean_j q_i . k_j = q_i . mean_j k_j``: we compute that exact
    O(N) form instead of the O(N^2) map; a test checks both agree.

    CxAM: guide = the CEM output itself. CnAM: guide = the unaltered top
    pyramid feature, so the gate follows precise object positions that the
    dilated branches blur.

    Args:
        channels (int): Channels of the map being gated (and of the
            output).
        guide_channels (int, optional): Channels of the guide map; None =
            ``channels``. Defaults to None.
        reduction (int): Query/key channels = ``channels // reduction``.
            Defaults to 8.
    """

    def __init__(self,
                 channels: int,
                 guide_channels: Optional[int] = None,
                 reduction: int = 8) -> None:
        super().__init__()
        guide_channels = guide_channels or channels
        check_positive_ints(
            'MeanAffinityAttention',
            channels=channels,
            guide_channels=guide_channels,
            reduction=reduction)
        key_channels = max(channels // reduction, 1)
        self.query = nn.Conv2d(guide_channels, key_channels, 1)
        self.key = nn.Conv2d(guide_channels, key_channels, 1)
        self.value = nn.Conv2d(channels, channels, 1)

    def gate(self, guide: Tensor) -> Tensor:
        """Spatial gate (B, 1, H, W) of ``guide``."""
        q = self.query(guide)
        k_mean = self.key(guide).mean((2, 3))
        return torch.einsum('bdhw,bd->bhw', q, k_mean)[:, None].sigmoid()

    def forward(self, x: Tensor, guide: Optional[Tensor] = None) -> Tensor:
        """Gate ``value(x)`` by the affinities of ``guide`` (default
        ``x``)."""
        guide = x if guide is None else guide
        if guide.shape[-2:] != x.shape[-2:]:
            guide = F.interpolate(guide, size=x.shape[-2:], mode='nearest')
        return self.value(x) * self.gate(guide)


__all__ = ['ContextExtraction', 'MeanAffinityAttention']
