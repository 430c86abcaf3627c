# Copyright (c) pst-mm contributors. All rights reserved.
"""Content-aware reassembly upsampling (CARAFE-style) in plain PyTorch, and
the A²-FPN fusion blocks built on it.

mmcv's ``CARAFE`` op has only a CUDA kernel, so a CPU run (or a CPU test)
cannot use it. :func:`content_aware_reassembly` computes the same
reassembly with ``unfold`` and one ``einsum``: every output pixel is a
softmax-weighted sum of the ``k x k`` neighbourhood of its source pixel in
the coarse map, with zero padding at the borders, as in CARAFE.
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .checks import check_positive_ints


def content_aware_reassembly(x: Tensor, kernels: Tensor,
                             scale: int = 2) -> Tensor:
    """Upsample ``x`` with one reassembly kernel per output pixel.

    Output pixel ``(i, j)`` is ``sum_{a, b} K[(a, b), i, j] *
    x[i // s + a - r, j // s + b - r]`` with ``r = k // 2`` and ``x`` zero
    outside the map, i.e. CARAFE's reassembly step.

    Args:
        x (Tensor): Coarse map (B, C, h, w).
        kernels (Tensor): Kernels (B, k*k, H, W) for the output pixels, k
            odd, normalised by the caller. ``H`` and ``W`` may be smaller
            than ``s * h`` and ``s * w`` by less than ``s`` (odd fine maps:
            ``h = ceil(H / s)``).
        scale (int): Upsampling factor s. Defaults to 2.

    Returns:
        Tensor: (B, C, H, W).
    """
    if x.dim() != 4 or kernels.dim() != 4:
        raise ValueError(f'x and kernels must be 4-D, got {tuple(x.shape)} '
                         f'and {tuple(kernels.shape)}')
    B, C, h, w = x.shape
    k = math.isqrt(int(kernels.shape[1]))
    if k * k != kernels.shape[1] or k % 2 == 0:
        raise ValueError(f'kernels must have k*k channels with k odd, got '
                         f'{kernels.shape[1]}')
    H, W = kernels.shape[-2:]
    if kernels.shape[0] != B or (H + scale - 1) // scale != h or \
            (W + scale - 1) // scale != w:
        raise ValueError(
            f'kernels {tuple(kernels.shape)} do not match x '
            f'{tuple(x.shape)} at scale {scale}: need (B={B}, k*k, H, W) '
            f'with ceil(H/{scale})={h} and ceil(W/{scale})={w}')
    # Zero kernels for the cropped border of odd maps, then split the
    # output grid into (coarse position, sub-pixel phase).
    kernels = F.pad(kernels, (0, scale * w - W, 0, scale * h - H))
    kernels = kernels.view(B, k * k, h, scale, w, scale)
    patches = F.unfold(x, k, padding=k // 2).view(B, C, k * k, h, w)
    out = torch.einsum('bckhw,bkhpwq->bchpwq', patches, kernels)
    return out.reshape(B, C, scale * h, scale * w)[..., :H, :W]


class DualLevelReassembly(nn.Module):
    """2x content-aware reassembly of a coarse map whose kernels are
    predicted from both adjacent levels (A²-FPN's fusion upsampling).

    CARAFE predicts its kernels from the coarse map alone; here both maps
    are compressed, the coarse one is brought to the fine grid (nearest),
    they are summed and an encoder conv predicts ``k_up**2`` softmax-
    normalised weights per fine pixel.

    Args:
        channels (int): Channels of both maps.
        up_kernel (int): Reassembly kernel size k_up (odd). Defaults to 5.
        encoder_kernel (int): Kernel of the kernel-prediction conv (odd).
            Defaults to 3.
        compressed_channels (int): Channels after compression.
            Defaults to 64.
    """

    def __init__(self,
                 channels: int,
                 up_kernel: int = 5,
                 encoder_kernel: int = 3,
                 compressed_channels: int = 64) -> None:
        super().__init__()
        check_positive_ints(
            'DualLevelReassembly',
            odd=True,
            up_kernel=up_kernel,
            encoder_kernel=encoder_kernel)
        check_positive_ints(
            'DualLevelReassembly',
            channels=channels,
            compressed_channels=compressed_channels)
        self.compress_coarse = nn.Conv2d(channels, compressed_channels, 1)
        self.compress_fine = nn.Conv2d(channels, compressed_channels, 1)
        self.encoder = nn.Conv2d(
            compressed_channels,
            up_kernel**2,
            encoder_kernel,
            padding=encoder_kernel // 2)

    def kernels(self, coarse: Tensor, fine: Tensor) -> Tensor:
        """Softmax-normalised kernels (B, k_up**2, H, W) on the fine grid."""
        z = F.interpolate(
            self.compress_coarse(coarse), size=fine.shape[-2:],
            mode='nearest') + self.compress_fine(fine)
        return self.encoder(z).softmax(dim=1)

    def forward(self, coarse: Tensor, fine: Tensor) -> Tensor:
        """Upsample ``coarse`` (B, C, h, w) to ``fine``'s size (B, C, H, W),
        ``h = ceil(H / 2)``."""
        return content_aware_reassembly(coarse, self.kernels(coarse, fine))


class ChannelReweightedSum(nn.Module):
    """``w_a * a + w_b * b`` with per-image channel weights from both maps'
    global average (A²-FPN's channel re-weighting before the sum).

    Args:
        channels (int): Channels of both maps.
        reduction (int): Bottleneck ratio of the weight MLP. Defaults to 4.
    """

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        check_positive_ints(
            'ChannelReweightedSum', channels=channels, reduction=reduction)
        hidden = max(channels // reduction, 8)
        self.mlp = nn.Sequential(
            nn.Conv2d(2 * channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 2 * channels, 1))

    def weights(self, a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
        """Channel weights ``(w_a, w_b)``, each (B, C, 1, 1) in (0, 1)."""
        pooled = torch.cat([a.mean((2, 3), keepdim=True),
                            b.mean((2, 3), keepdim=True)], 1)
        w_a, w_b = self.mlp(pooled).sigmoid().chunk(2, dim=1)
        return w_a, w_b

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        w_a, w_b = self.weights(a, b)
        return w_a * a + w_b * b


class MultiLevelGlobalContext(nn.Module):
    """Collect a global context from every backbone level and distribute it
    to every lateral map (A²-FPN's multi-level global context).

    Collect: GCNet-style attention pooling of each full-width backbone map
    (a 1x1 conv scores the positions, softmax over H*W), so the context is
    taken before the lateral 1x1 convs cut the channels to
    ``out_channels``. The pooled vectors are concatenated and transformed
    (1x1 bottleneck, LayerNorm, ReLU). Distribute: one 1x1 conv per level
    maps the shared context into that level, added at every position.

    Args:
        in_channels (list[int]): Channels of the backbone levels used.
        out_channels (int): Channels of the lateral maps.
    """

    def __init__(self, in_channels: list, out_channels: int) -> None:
        super().__init__()
        self.score = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in in_channels)
        self.transform = nn.Sequential(
            nn.Conv2d(sum(in_channels), out_channels, 1),
            nn.LayerNorm([out_channels, 1, 1]), nn.ReLU(inplace=True))
        self.distribute = nn.ModuleList(
            nn.Conv2d(out_channels, out_channels, 1) for _ in in_channels)

    def forward(self, feats: list, laterals: list) -> list:
        pooled = []
        for score, x in zip(self.score, feats):
            attn = score(x).flatten(2).softmax(dim=-1)  # (B, 1, HW)
            pooled.append(
                torch.einsum('bcn,bon->bc', x.flatten(2), attn))
        context = self.transform(torch.cat(pooled, 1)[..., None, None])
        return [
            lat + dist(context)
            for dist, lat in zip(self.distribute, laterals)
        ]


__all__ = [
    'content_aware_reassembly', 'DualLevelReassembly',
    'ChannelReweightedSum', 'MultiLevelGlobalContext'
]
