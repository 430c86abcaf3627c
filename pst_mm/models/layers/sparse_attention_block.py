# Copyright (c) pst-mm contributors. All rights reserved.
"""Sparse attention block (Chen, Yu, Ling, Pattern Recognition 2022): a
non-local block whose keys and values are taken only at the local peaks of
a heat map of the input."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .checks import check_positive_ints


def select_local_peaks(heat: Tensor, num_points: int,
                       window: int = 3) -> Tuple[Tensor, Tensor]:
    """Indices of the ``num_points`` highest local maxima of ``heat``.

    A position is a peak if it equals the maximum of its ``window x
    window`` neighbourhood. Fewer peaks than ``num_points`` leave the tail
    of the selection invalid.

    Args:
        heat (Tensor): Heat map (B, 1, H, W).
        num_points (int): Peaks to keep per image (capped at H*W).
        window (int): Odd neighbourhood size of the peak test.
            Defaults to 3.

    Returns:
        tuple[Tensor, Tensor]: ``indices`` (B, K) into the flattened H*W
        grid, highest first, and ``valid`` (B, K) bool, ``K = min(
        num_points, H*W)``.
    """
    if heat.dim() != 4 or heat.shape[1] != 1:
        raise ValueError(f'heat must be (B, 1, H, W), got '
                         f'{tuple(heat.shape)}')
    peaks = heat == F.max_pool2d(heat, window, 1, window // 2)
    scores = heat.masked_fill(~peaks, float('-inf')).flatten(1)
    values, indices = scores.topk(min(num_points, scores.shape[1]), dim=1)
    return indices, torch.isfinite(values)


class SparseAttentionBlock(nn.Module):
    """Non-local attention of every position to the feature's local peaks.

    A 1x1 conv gives a heat map; its top-``num_points`` local maxima are the
    only keys and values, so the cost is O(N * K) instead of the non-local
    block's O(N^2). The values are scaled by ``sigmoid(heat)`` at the
    selected positions so that the heat-map conv is trained by the
    detection loss (peak picking itself has no gradient). The output is
    ``x + gamma * W_z(y)`` with a learned per-channel ``gamma`` that starts
    at 0, so an inserted block starts as the identity.

    Args:
        channels (int): Input/output channels.
        key_channels (int, optional): Channels of queries, keys and values;
            None = ``channels // 2`` (as the non-local block).
            Defaults to None.
        num_points (int): Keys/values per image. Defaults to 64.
        window (int): Odd window of the local-peak test. Defaults to 3.
    """

    def __init__(self,
                 channels: int,
                 key_channels: Optional[int] = None,
                 num_points: int = 64,
                 window: int = 3) -> None:
        super().__init__()
        key_channels = key_channels or max(channels // 2, 1)
        check_positive_ints(
            'SparseAttentionBlock',
            channels=channels,
            key_channels=key_channels,
            num_points=num_points)
        check_positive_ints('SparseAttentionBlock', odd=True, window=window)
        self.num_points = num_points
        self.window = window
        self.scale = key_channels**-0.5
        self.heat = nn.Conv2d(channels, 1, 1)
        self.query = nn.Conv2d(channels, key_channels, 1)
        self.key = nn.Conv2d(channels, key_channels, 1)
        self.value = nn.Conv2d(channels, key_channels, 1)
        self.out = nn.Conv2d(key_channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def selection(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Heat map (B, 1, H, W), peak ``indices`` and ``valid`` (B, K)."""
        heat = self.heat(x)
        return (heat, ) + select_local_peaks(heat, self.num_points,
                                             self.window)

    def forward(self, x: Tensor) -> Tensor:
        heat, indices, valid = self.selection(x)
        B, _, H, W = x.shape

        def gather(t: Tensor) -> Tensor:  # (B, C, HW) -> (B, C, K, 1)
            return t.flatten(2).gather(
                2, indices[:, None].expand(-1, t.shape[1], -1))[..., None]

        q = self.query(x).flatten(2)
        # Keys and values are needed at the K peaks only: project the K
        # gathered tokens instead of the whole map (1x1 convs commute with
        # the gather).
        peaks = gather(x)
        k = self.key(peaks).flatten(2)
        v = (self.value(peaks) * gather(heat).sigmoid()).flatten(2)
        logits = torch.einsum('bdn,bdk->bnk', q, k) * self.scale
        attn = logits.masked_fill(~valid[:, None], float('-inf')).softmax(-1)
        y = torch.einsum('bnk,bdk->bdn', attn, v).view(B, -1, H, W)
        return x + self.gamma * self.out(y)


__all__ = ['select_local_peaks', 'SparseAttentionBlock']
