# Copyright (c) pst-mm contributors. All rights reserved.
"""Building blocks of the YOLOv11 / YOLOv12 detectors of the PST paper.

Written from the published architecture descriptions (YOLOv8 C2f, YOLOv11
C3k2 / SPPF / C2PSA, YOLOv12 area attention A2C2f); parameter-for-parameter
the same layers as the reference models, which the detector parameter-count
tests check. Every convolution is ``Conv2d(bias=False) + BN + SiLU`` (the
activation dropped where the reference has none); BN uses the reference
detectors' eps 1e-3 / momentum 0.03.
"""
import math
from typing import Callable, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.backbones.csp_darknet import SPPBottleneck
from mmdet.utils import ConfigType
from torch import Tensor

__all__ = [
    'YOLO_NORM_CFG', 'YOLO_ACT_CFG', 'YOLO_SCALES', 'YOLOScale', 'YOLOConv',
    'yolo_conv',
    'YOLOBottleneck', 'C2f', 'C3k', 'C3k2', 'SPPF',
    'PositionSensitiveAttention', 'C2PSABlock', 'C2PSA', 'AreaAttention',
    'AreaAttentionBlock', 'A2C2f', 'get_yolo_scale'
]

YOLO_NORM_CFG = dict(type='BN', momentum=0.03, eps=0.001)
YOLO_ACT_CFG = dict(type='SiLU', inplace=True)


class YOLOScale:
    """Depth/width multipliers of one model scale (n, s, m, l, x).

    Args:
        name (str): Scale name.
        depth (float): Multiplier of the block repeats.
        width (float): Multiplier of the channels.
        max_channels (int): Cap on the channels before the multiplier.
    """

    def __init__(self, name: str, depth: float, width: float,
                 max_channels: int) -> None:
        self.name = name
        self.depth = depth
        self.width = width
        self.max_channels = max_channels

    def channels(self, c: int) -> int:
        """Channels of a layer written as ``c`` at width 1 (rounded up to a
        multiple of 8, as the reference model parser does)."""
        return int(math.ceil(min(c, self.max_channels) * self.width / 8) * 8)

    def repeats(self, n: int) -> int:
        """Block repeats of a layer written with ``n`` repeats at depth 1."""
        return max(round(n * self.depth), 1) if n > 1 else n

    @property
    def c3k(self) -> bool:
        """The m/l/x models use C3k inner blocks in every C3k2."""
        return self.name in ('m', 'l', 'x')

    @property
    def a2c2f_residual(self) -> Tuple[bool, float]:
        """(residual scaling, MLP ratio) of the attention A2C2f: the l/x
        models add the layer-scaled residual and use MLP ratio 1.2."""
        return (True, 1.2) if self.name in ('l', 'x') else (False, 2.0)

    def __repr__(self) -> str:
        return (f'YOLOScale({self.name!r}, depth={self.depth}, '
                f'width={self.width}, max_channels={self.max_channels})')


#: The YOLOv8/v11/v12 model scales: (depth, width, max channels).
YOLO_SCALES = {
    name: YOLOScale(name, *v)
    for name, v in dict(
        n=(0.50, 0.25, 1024),
        s=(0.50, 0.50, 1024),
        m=(0.50, 1.00, 512),
        l=(1.00, 1.00, 512),
        x=(1.00, 1.50, 512)).items()
}


def get_yolo_scale(scale: str) -> YOLOScale:
    """The :class:`YOLOScale` named ``scale``; ``ValueError`` otherwise."""
    if scale not in YOLO_SCALES:
        raise ValueError(f'scale must be one of {sorted(YOLO_SCALES)}, '
                         f'got {scale!r}')
    return YOLO_SCALES[scale]


class YOLOConv(ConvModule):
    """mmcv's ``ConvModule`` initialised as Ultralytics' ``Conv``: PyTorch's
    default ``Conv2d`` initialisation (Kaiming-uniform with ``a=sqrt(5)``,
    std ``1 / sqrt(3 fan_in)``) and BN scale 1, shift 0.

    ``ConvModule.init_weights`` redraws the weights from mmcv's Kaiming
    normal (2.4x that std), which the reference trainer never does; the YOLO
    recipe follows the reference.
    """

    def init_weights(self) -> None:
        self.conv.reset_parameters()
        if self.with_norm:
            nn.init.ones_(self.norm.weight)
            nn.init.zeros_(self.norm.bias)


def yolo_conv(in_channels: int,
              out_channels: int,
              kernel_size: int = 1,
              stride: int = 1,
              groups: int = 1,
              act: bool = True,
              norm_cfg: ConfigType = YOLO_NORM_CFG,
              act_cfg: ConfigType = YOLO_ACT_CFG) -> ConvModule:
    """``Conv2d(bias=False) + BN (+ SiLU)`` with 'same' padding
    (:class:`YOLOConv`)."""
    return YOLOConv(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        groups=groups,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg if act else None)


class YOLOBottleneck(nn.Module):
    """Two convolutions with an optional residual (YOLOv5-v11 bottleneck).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        shortcut (bool): Add the input when the widths match.
            Defaults to True.
        kernel_sizes (tuple[int, int]): Kernels of the two convs.
            Defaults to (3, 3).
        expand_ratio (float): Hidden width over ``out_channels``.
            Defaults to 0.5.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = YOLOBottleneck(32, 32)
        >>> tuple(block(torch.rand(1, 32, 16, 16)).shape)
        (1, 32, 16, 16)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 shortcut: bool = True,
                 kernel_sizes: Tuple[int, int] = (3, 3),
                 expand_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__()
        hidden = int(out_channels * expand_ratio)
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = yolo_conv(in_channels, hidden, kernel_sizes[0], **cfg)
        self.conv2 = yolo_conv(hidden, out_channels, kernel_sizes[1], **cfg)
        self.add = shortcut and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.conv1(x))
        return x + out if self.add else out


class _ELANBlock(nn.Module):
    """The aggregation C2f (YOLOv8) and A2C2f (YOLOv12) share: ``conv1``
    maps the input to ``num_splits`` parts of ``mid_channels``; each block
    reads the previous part or block output; ``conv2`` fuses the concat of
    all parts and block outputs.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        mid_channels (int): Channels of each part and block output.
        num_splits (int): Parts ``conv1`` makes.
        num_blocks (int): Blocks in the chain.
        make_block (Callable[[int], nn.Module]): Builds one block of the
            given width (called after the two convs are built, so the
            modules are created, and initialised, in the reference order).
        norm_cfg (dict): Norm config.
        act_cfg (dict): Activation config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 mid_channels: int, num_splits: int, num_blocks: int,
                 make_block: Callable[[int], nn.Module],
                 norm_cfg: ConfigType, act_cfg: ConfigType) -> None:
        super().__init__()
        self.mid_channels = mid_channels
        self.num_splits = num_splits
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = yolo_conv(in_channels, num_splits * mid_channels, 1,
                               **cfg)
        self.conv2 = yolo_conv((num_splits + num_blocks) * mid_channels,
                               out_channels, 1, **cfg)
        self.blocks = nn.ModuleList(
            make_block(mid_channels) for _ in range(num_blocks))

    def forward(self, x: Tensor) -> Tensor:
        y = list(self.conv1(x).chunk(self.num_splits, 1))
        for block in self.blocks:
            y.append(block(y[-1]))
        return self.conv2(torch.cat(y, 1))


class C2f(_ELANBlock):
    """CSP block with two convolutions and a dense concat (YOLOv8).

    ``conv1`` splits the input into two halves of ``c = out * e`` channels;
    each inner block reads the previous block's output, and ``conv2`` fuses
    ``cat[half1, half2, block_1, ..., block_n]``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Inner blocks. Defaults to 1.
        shortcut (bool): Residuals in the inner bottlenecks.
            Defaults to False.
        expand_ratio (float): Hidden width ratio. Defaults to 0.5.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = C2f(16, 48, num_blocks=2)
        >>> tuple(block(torch.rand(1, 16, 12, 20)).shape)
        (1, 48, 12, 20)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 shortcut: bool = False,
                 expand_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        super().__init__(in_channels, out_channels,
                         int(out_channels * expand_ratio), 2, num_blocks,
                         lambda c: self._make_block(c, shortcut, cfg), **cfg)

    def _make_block(self, channels: int, shortcut: bool,
                    cfg: dict) -> nn.Module:
        return YOLOBottleneck(
            channels, channels, shortcut, (3, 3), expand_ratio=1.0, **cfg)


class C3k(nn.Module):
    """CSP bottleneck with three convolutions and ``k x k`` bottlenecks
    (the YOLOv5 C3 block with configurable kernels, YOLOv11's C3k).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Bottlenecks. Defaults to 2.
        shortcut (bool): Residuals in the bottlenecks. Defaults to True.
        expand_ratio (float): Hidden width ratio. Defaults to 0.5.
        kernel_size (int): Kernel of both bottleneck convs. Defaults to 3.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = C3k(32, 64)
        >>> tuple(block(torch.rand(1, 32, 16, 16)).shape)
        (1, 64, 16, 16)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 2,
                 shortcut: bool = True,
                 expand_ratio: float = 0.5,
                 kernel_size: int = 3,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__()
        c = int(out_channels * expand_ratio)
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = yolo_conv(in_channels, c, 1, **cfg)
        self.short_conv = yolo_conv(in_channels, c, 1, **cfg)
        self.final_conv = yolo_conv(2 * c, out_channels, 1, **cfg)
        self.blocks = nn.Sequential(*(YOLOBottleneck(
            c, c, shortcut, (kernel_size, kernel_size), 1.0, **cfg)
                                      for _ in range(num_blocks)))

    def forward(self, x: Tensor) -> Tensor:
        return self.final_conv(
            torch.cat([self.blocks(self.main_conv(x)),
                       self.short_conv(x)], 1))


class C3k2(C2f):
    """YOLOv11's C2f whose inner blocks are bottlenecks (``c3k=False``,
    hidden ratio 0.5) or two-bottleneck C3k blocks (``c3k=True``).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Inner blocks. Defaults to 1.
        c3k (bool): Use C3k inner blocks. Defaults to False.
        expand_ratio (float): Hidden width ratio. Defaults to 0.5.
        shortcut (bool): Residuals in the inner blocks. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = C3k2(32, 64, num_blocks=1, expand_ratio=0.25)
        >>> tuple(block(torch.rand(1, 32, 16, 16)).shape)
        (1, 64, 16, 16)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 c3k: bool = False,
                 expand_ratio: float = 0.5,
                 shortcut: bool = True,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        self.c3k = c3k
        super().__init__(in_channels, out_channels, num_blocks, shortcut,
                         expand_ratio, norm_cfg, act_cfg)

    def _make_block(self, channels: int, shortcut: bool,
                    cfg: dict) -> nn.Module:
        if self.c3k:
            return C3k(channels, channels, 2, shortcut, **cfg)
        return YOLOBottleneck(channels, channels, shortcut, **cfg)


class SPPF(SPPBottleneck):
    """Fast spatial pyramid pooling: mmdet's ``SPPBottleneck`` with kernels
    (5, 9, 13) computed as three chained 5x5 max-pools (same output, same
    weights, less work).

    Args:
        in_channels (int): Input channels (the hidden width is half).
        out_channels (int): Output channels.
        kernel_size (int): Kernel of the chained pool. Defaults to 5.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = SPPF(64, 64)
        >>> tuple(block(torch.rand(1, 64, 8, 8)).shape)
        (1, 64, 8, 8)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 5,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_sizes=(kernel_size, 2 * kernel_size - 1,
                          3 * kernel_size - 2),
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        # mmcv's ConvModule draws Kaiming weights when it is built
        self._init_convs()

    def _init_convs(self) -> None:
        for conv in (self.conv1, self.conv2):
            YOLOConv.init_weights(conv)

    def init_weights(self) -> None:
        """PyTorch's default conv initialisation, as :class:`YOLOConv`."""
        super().init_weights()
        self._init_convs()

    def forward(self, x: Tensor) -> Tensor:
        y = [self.conv1(x)]
        # k, 2k-1 and 3k-2 windows as three chained k x k pools
        for _ in range(len(self.poolings)):
            y.append(self.poolings[0](y[-1]))
        return self.conv2(torch.cat(y, 1))


class _ConvAttention(nn.Module):
    """What the attentions of C2PSA and A2C2f share: ``num_heads`` heads
    over ``dim`` channels, a 1x1 ``qkv`` conv giving per head ``key_dim``
    query and key channels and ``head_dim`` value channels, a 1x1 output
    projection and a ``pe_kernel`` depthwise positional encoding of the
    values (convs with BN, no activation).

    Args:
        dim (int): Channels.
        num_heads (int): Heads (``dim`` must be divisible).
        attn_ratio (float): ``key_dim`` over ``head_dim``.
        pe_kernel (int): Kernel of the positional encoding.
        norm_cfg (dict): Norm config.
    """

    def __init__(self, dim: int, num_heads: int, attn_ratio: float,
                 pe_kernel: int, norm_cfg: ConfigType) -> None:
        super().__init__()
        if num_heads < 1 or dim % num_heads:
            raise ValueError(f'dim={dim} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        qkv = dim + 2 * self.key_dim * num_heads
        self.qkv = yolo_conv(dim, qkv, 1, act=False, norm_cfg=norm_cfg)
        self.proj = yolo_conv(dim, dim, 1, act=False, norm_cfg=norm_cfg)
        self.pe = yolo_conv(
            dim, dim, pe_kernel, groups=dim, act=False, norm_cfg=norm_cfg)


def _conv_mlp(dim: int, hidden: int, norm_cfg: ConfigType,
              act_cfg: ConfigType) -> nn.Sequential:
    """1x1 conv to ``hidden`` (with activation), 1x1 conv back (without):
    the MLP of the attention blocks."""
    return nn.Sequential(
        yolo_conv(dim, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
        yolo_conv(hidden, dim, 1, act=False, norm_cfg=norm_cfg))


class _AttentionMLPBlock(nn.Module):
    """``x + attn(x)`` (``attn(x)`` without ``add``), then ``x + mlp(x)``;
    subclasses build ``attn`` and ``mlp``."""

    add = True

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(x) if self.add else self.attn(x)
        return x + self.mlp(x)


class PositionSensitiveAttention(_ConvAttention):
    """Multi-head self-attention of YOLOv11's C2PSA, with a 3x3 depthwise
    positional encoding of the values.

    Per head the 1x1 ``qkv`` conv gives ``key_dim`` query and key channels
    (``head_dim * attn_ratio``) and ``head_dim`` value channels.

    Args:
        dim (int): Channels.
        num_heads (int): Heads (``dim`` must be divisible). Defaults to 8.
        attn_ratio (float): Query/key width over the head width.
            Defaults to 0.5.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int = 8,
                 attn_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO_NORM_CFG) -> None:
        super().__init__(dim, num_heads, attn_ratio, 3, norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        q, k, v = self.qkv(x).view(B, self.num_heads, -1, H * W).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2)
        out = F.scaled_dot_product_attention(
            q.transpose(-2, -1), k.transpose(-2, -1), v.transpose(-2, -1))
        out = out.transpose(-2, -1).reshape(B, C, H, W)
        return self.proj(out + self.pe(v.reshape(B, C, H, W)))


class C2PSABlock(_AttentionMLPBlock):
    """Attention + MLP block of YOLOv11's C2PSA (``x + attn(x)``, then
    ``x + mlp(x)``; MLP ratio 2). Named so it does not clash with the PST
    block :class:`pst_mm.models.layers.PSABlock`.

    Args:
        dim (int): Channels.
        num_heads (int): Attention heads. Defaults to 4.
        attn_ratio (float): See :class:`PositionSensitiveAttention`.
            Defaults to 0.5.
        shortcut (bool): Residual around the attention. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int = 4,
                 attn_ratio: float = 0.5,
                 shortcut: bool = True,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__()
        self.attn = PositionSensitiveAttention(dim, num_heads, attn_ratio,
                                               norm_cfg)
        self.mlp = _conv_mlp(dim, 2 * dim, norm_cfg, act_cfg)
        self.add = shortcut


class C2PSA(nn.Module):
    """YOLOv11's C2PSA: a 1x1 split, attention blocks on one half
    (``dim / 64`` heads), a 1x1 fusion.

    Args:
        in_channels (int): Input channels (= output channels).
        out_channels (int): Output channels; must equal ``in_channels``.
        num_blocks (int): :class:`C2PSABlock` repeats. Defaults to 1.
        expand_ratio (float): Half width ratio. Defaults to 0.5.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = C2PSA(128, 128)
        >>> tuple(block(torch.rand(1, 128, 10, 6)).shape)
        (1, 128, 10, 6)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 expand_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(f'C2PSA keeps the width: in_channels='
                             f'{in_channels} != out_channels={out_channels}')
        self.mid_channels = c = int(in_channels * expand_ratio)
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = yolo_conv(in_channels, 2 * c, 1, **cfg)
        self.conv2 = yolo_conv(2 * c, in_channels, 1, **cfg)
        self.blocks = nn.Sequential(*(C2PSABlock(c, c // 64, 0.5, **cfg)
                                      for _ in range(num_blocks)))

    def forward(self, x: Tensor) -> Tensor:
        a, b = self.conv1(x).split(self.mid_channels, 1)
        return self.conv2(torch.cat([a, self.blocks(b)], 1))


def _trunc_normal_convs(module: nn.Module) -> None:
    """trunc-normal(0.02) weights and zero biases for every Conv2d, the
    initialisation of the reference area-attention blocks."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class AreaAttention(_ConvAttention):
    """YOLOv12 area attention: the ``H*W`` tokens (row-major) are split into
    ``area`` equal contiguous groups (horizontal stripes) that attend within
    themselves; ``area=1`` is global self-attention. A 7x7 depthwise conv of
    the values is added as positional encoding.

    Args:
        dim (int): Channels.
        num_heads (int): Heads (``dim / 32`` in the reference blocks).
        area (int): Number of token groups. Defaults to 1.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 area: int = 1,
                 norm_cfg: ConfigType = YOLO_NORM_CFG) -> None:
        super().__init__(dim, num_heads, 1.0, 7, norm_cfg)
        if area < 1:
            raise ValueError(f'area must be >= 1, got {area}')
        self.area = area

    def forward(self, x: Tensor) -> Tensor:
        B, C, H, W = x.shape
        N = H * W
        if N % self.area:
            raise ValueError(
                f'AreaAttention with area={self.area} needs H*W divisible by '
                f'it, got a {H}x{W} map; pad inputs to a multiple of 32 '
                f'(pad_size_divisor=32)')
        # (B, N, 3C) -> (B*area, N/area, heads, 3*head_dim): per head the
        # channels are [q_h | k_h | v_h]
        qkv = self.qkv(x).flatten(2).transpose(1, 2).reshape(
            B * self.area, N // self.area, self.num_heads, 3 * self.head_dim)
        q, k, v = qkv.transpose(1, 2).split(self.head_dim, dim=-1)
        out = F.scaled_dot_product_attention(q, k, v)

        def to_map(t: Tensor) -> Tensor:
            return t.transpose(1, 2).reshape(B, H, W, C).permute(0, 3, 1, 2)

        return self.proj(to_map(out) + self.pe(to_map(v)))


class AreaAttentionBlock(_AttentionMLPBlock):
    """YOLOv12 ``ABlock``: ``x + area_attn(x)``, then ``x + mlp(x)``.

    Args:
        dim (int): Channels.
        num_heads (int): Heads.
        mlp_ratio (float): MLP hidden width ratio. Defaults to 1.2.
        area (int): See :class:`AreaAttention`. Defaults to 1.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 mlp_ratio: float = 1.2,
                 area: int = 1,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        super().__init__()
        self.attn = AreaAttention(dim, num_heads, area, norm_cfg)
        self.mlp = _conv_mlp(dim, int(dim * mlp_ratio), norm_cfg, act_cfg)
        self.init_weights()

    def init_weights(self) -> None:
        """trunc-normal(0.02) convs, as the reference block (called again by
        the detector's ``init_weights`` after mmcv's Kaiming init)."""
        _trunc_normal_convs(self)


class A2C2f(_ELANBlock):
    """YOLOv12's residual area-attention ELAN block.

    ``conv1`` maps the input to ``c = out * e`` channels; each of the
    ``num_blocks`` stages is two :class:`AreaAttentionBlock` (``a2=True``,
    ``c / 32`` heads) or one :class:`C3k` (``a2=False``) applied to the
    previous output; ``conv2`` fuses the concat of all. With
    ``a2 and residual`` the output is ``x + gamma * y`` with a per-channel
    layer scale ``gamma`` initialised to 0.01.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Stages. Defaults to 1.
        a2 (bool): Area attention (else C3k). Defaults to True.
        area (int): Token groups of the attention. Defaults to 1.
        residual (bool): Layer-scaled residual (needs ``in == out``).
            Defaults to False.
        mlp_ratio (float): MLP ratio of the attention blocks.
            Defaults to 2.0.
        expand_ratio (float): Hidden width ratio. Defaults to 0.5.
        shortcut (bool): Residuals inside the C3k stages. Defaults to True.
        norm_cfg (dict): Norm config. Defaults to ``YOLO_NORM_CFG``.
        act_cfg (dict): Activation config. Defaults to SiLU.

    Example:
        >>> import torch
        >>> block = A2C2f(128, 128, num_blocks=2, area=4)
        >>> tuple(block(torch.rand(1, 128, 8, 8)).shape)
        (1, 128, 8, 8)
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 1,
                 a2: bool = True,
                 area: int = 1,
                 residual: bool = False,
                 mlp_ratio: float = 2.0,
                 expand_ratio: float = 0.5,
                 shortcut: bool = True,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG) -> None:
        c = int(out_channels * expand_ratio)
        if a2 and c % 32:
            raise ValueError(
                f'A2C2f attention needs a hidden width divisible by 32 (head '
                f'dim 32): out_channels={out_channels} x expand_ratio='
                f'{expand_ratio} = {c}')
        if a2 and residual and in_channels != out_channels:
            raise ValueError(f'A2C2f residual needs in_channels == '
                             f'out_channels, got {in_channels} and '
                             f'{out_channels}')
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        def make_block(channels: int) -> nn.Module:
            if a2:  # two attention blocks of head dim 32
                return nn.Sequential(*(AreaAttentionBlock(
                    channels, channels // 32, mlp_ratio, area, **cfg)
                                       for _ in range(2)))
            return C3k(channels, channels, 2, shortcut, **cfg)

        super().__init__(in_channels, out_channels, c, 1, num_blocks,
                         make_block, **cfg)
        self.gamma = nn.Parameter(torch.full(
            (out_channels, ), 0.01)) if a2 and residual else None

    def forward(self, x: Tensor) -> Tensor:
        out = super().forward(x)
        if self.gamma is not None:
            return x + self.gamma.view(1, -1, 1, 1) * out
        return out
