# Copyright (c) pst-mm contributors. All rights reserved.
"""The one-stage components of AFPN (Min, Lee, Lee, "Attentional feature
pyramid network for small object detection", Neural Networks 155, 2022):
dynamic texture attention and foreground-aware co-attention. Not the 2023
"Asymptotic Feature Pyramid Network", which shares the acronym."""
from typing import List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from .checks import check_positive_ints
from .reassembly import ChannelReweightedSum


class DynamicTextureAttention(nn.Module):
    """Top-down fusion that filters the upsampled semantics and amplifies
    the lateral (texture) details, with weights computed per image.

    ``out = beta_sem * up + (1 + alpha) * beta_tex * lateral``: the
    channel weights ``beta`` (sigmoid of an MLP on both maps' global
    averages) drop redundant semantic channels and keep credible texture
    channels; the spatial map ``alpha`` (sigmoid of a conv over both maps)
    amplifies the lateral map where its details matter. The same module
    learns to favour texture in fine levels and semantics in coarse ones,
    because each level has its own weights.

    Args:
        channels (int): Channels of both maps.
        reduction (int): Bottleneck ratio of the channel MLP.
            Defaults to 4.
        spatial_kernel (int): Kernel of the spatial-attention conv (odd).
            Defaults to 7.
    """

    def __init__(self,
                 channels: int,
                 reduction: int = 4,
                 spatial_kernel: int = 7) -> None:
        super().__init__()
        check_positive_ints(
            'DynamicTextureAttention', odd=True, spatial_kernel=spatial_kernel)
        # The same per-image two-map channel gates as A²-FPN's re-weighting.
        self.channel = ChannelReweightedSum(channels, reduction)
        self.spatial = nn.Conv2d(
            2 * channels, 1, spatial_kernel, padding=spatial_kernel // 2)

    def forward(self, up: Tensor, lateral: Tensor) -> Tensor:
        beta_sem, beta_tex = self.channel.weights(up, lateral)
        alpha = self.spatial(torch.cat([up, lateral], 1)).sigmoid()
        return beta_sem * up + (1 + alpha) * beta_tex * lateral


class ForegroundAwareCoAttention(nn.Module):
    """Every level attends to foreground prototypes pooled from all levels;
    background is damped.

    A shared 1x1 conv predicts ``num_prototypes`` foreground maps ``m`` per
    level (sigmoid). Each map pools one prototype (``m``-weighted mean of
    the level's features), so ``L * num_prototypes`` prototypes come from
    all levels together (the co-attention). Each position's query attends
    to them (softmax), and the result is added where the position is
    foreground (``g = max m``) while background features are damped:
    ``out = x + gamma * (g * context - (1 - g) * x)`` with ``gamma`` a
    per-channel weight that starts at 0 (identity at initialisation).

    Args:
        channels (int): Channels of every level.
        num_prototypes (int): Foreground maps/prototypes per level.
            Defaults to 4.
        key_channels (int, optional): Query/key channels; None =
            ``channels // 4``. Defaults to None.
    """

    def __init__(self,
                 channels: int,
                 num_prototypes: int = 4,
                 key_channels: Optional[int] = None) -> None:
        super().__init__()
        key_channels = key_channels or max(channels // 4, 1)
        check_positive_ints(
            'ForegroundAwareCoAttention',
            channels=channels,
            num_prototypes=num_prototypes,
            key_channels=key_channels)
        self.scale = key_channels**-0.5
        self.foreground = nn.Conv2d(channels, num_prototypes, 1)
        self.query = nn.Conv2d(channels, key_channels, 1)
        self.key = nn.Linear(channels, key_channels)
        self.value = nn.Linear(channels, channels)
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def foreground_maps(self, x: Tensor) -> Tensor:
        """Foreground probabilities (B, num_prototypes, H, W) of a level."""
        return self.foreground(x).sigmoid()

    def forward(self, feats: List[Tensor]) -> List[Tensor]:
        masks = [self.foreground_maps(x) for x in feats]
        protos = torch.cat([
            torch.einsum('bchw,bphw->bpc', x, m) /
            (m.sum((2, 3))[..., None] + 1e-6) for x, m in zip(feats, masks)
        ], 1)  # (B, L * P, C)
        keys, values = self.key(protos), self.value(protos)
        outs = []
        for x, m in zip(feats, masks):
            B, _, H, W = x.shape
            logits = torch.einsum('bdn,bpd->bnp', self.query(x).flatten(2),
                                  keys) * self.scale
            context = torch.einsum('bnp,bpc->bcn', logits.softmax(-1),
                                   values).view(B, -1, H, W)
            g = m.amax(1, keepdim=True)
            outs.append(x + self.gamma * (g * context - (1 - g) * x))
        return outs


__all__ = ['DynamicTextureAttention', 'ForegroundAwareCoAttention']
