# Copyright (c) pst-mm contributors. All rights reserved.
from types import MappingProxyType
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from ..layers import PSTConfigMixin, PyramidSparseTransformer
from ..layers.yolo_blocks import (YOLO_ACT_CFG, YOLO_NORM_CFG, A2C2f, C3k2,
                                  get_yolo_scale, yolo_conv)


@MODELS.register_module()
class YOLOPSTNeck(PSTConfigMixin, BaseModule):
    """PAN neck of the YOLOv11 / YOLOv12 detectors, optionally with the PST
    paper's Pyramid Sparse Transformers as its top-down fusions (PST-DET as
    the authors' code wires it into YOLO detectors).

    ::

        C5 ─[1x1 + A2C2f global attn]─> P5' ─────────────────┬─> cat ─B5─> N5
               (p5_attention only)       │ up      (K/V)      │   ^ s2 conv
        C4 ───────────────────┬──> cat[up P5', C4] ─F4─> T4 ─┼─> cat ─B4─> N4
                              │              (K/V = C4) up   │   ^ s2 conv
        C3 ───────────────────┼──> cat[up T4, C3] ──F3──────> T3 = N3 ─┘
                              └── upper of the P3 PST (raw backbone C4)

    ``layout`` picks the blocks of the plain necks: ``'yolo11'`` (F4, F3,
    B4 = C3k2) or ``'yolo12'`` (F4, F3, B4 = A2C2f without attention); B5
    is a C3k2 with C3k inner blocks in both. ``use_pst=True`` replaces F4
    and F3 by PSTs whose K/V come from the level above *before* fusion:
    P5' for the P4 PST and the raw backbone C4 for the P3 PST, the token
    width C' is half the output width and the PST has ``round(2 * depth)``
    blocks (``pst_cfg`` may set ``num_blocks``), all as in the released
    ``yolo11-pst`` / ``r*-pst`` models. So
    ``layout='yolo12', use_pst=False`` is the layout-matched baseline: the
    same model with each PST replaced by the block it replaced.
    ``p5_attention`` adds the 1x1 conv + global self-attention A2C2f on C5
    of the ResNet detectors (Table 1).

    Output widths follow ``scale`` (256/512/1024 at width 1, e.g. 64/128/256
    at n).

    Args:
        in_channels (Sequence[int]): Channels of C3, C4, C5.
        scale (str): Model scale (n, s, m, l, x). Defaults to 'n'.
        layout (str): ``'yolo11'`` or ``'yolo12'``. Defaults to 'yolo12'.
        use_pst (bool): PSTs as top-down fusions. Defaults to True.
        p5_attention (bool): 1x1 conv + A2C2f (4 area-1 attention blocks at
            width 1) on C5. Defaults to False.
        pst_cfg (dict, optional): Options of both PSTs and their
            attention, any of :data:`~pst_mm.models.layers.PST_CFG_DEFAULTS`
            (``topk``, ``fusion``, ``score``, ``impl``, ...), over
            :attr:`pst_defaults` and the scale's ``num_blocks``. ``topk``
            is the fine-attention top-k at inference (0 = coarse only, what
            the released models run; the library default is 8), switchable
            at test time with ``--cfg-options model.neck.pst_cfg.topk=0``.
            Defaults to None.
        upsample_cfg (dict): ``F.interpolate`` options. Defaults to
            ``dict(scale_factor=2, mode='nearest')``.
        norm_cfg (dict): Norm config of every conv, the PSTs' included.
            Defaults to BN (eps 1e-3, momentum 0.03).
        act_cfg (dict): Activation config of every conv and PST MLP.
            Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Example:
        >>> import torch
        >>> neck = YOLOPSTNeck([128, 128, 256], scale='n',
        ...                    pst_cfg=dict(topk=0))
        >>> feats = [torch.rand(1, c, 32 // 2**i, 32 // 2**i)
        ...          for i, c in enumerate([128, 128, 256])]
        >>> [tuple(o.shape) for o in neck(feats)]
        [(1, 64, 32, 32), (1, 128, 16, 16), (1, 256, 8, 8)]
    """

    #: The official gate (the paper's YOLO-PST counts include it; the
    #: library default is ``'sum_norm'``) and the official selection score
    #: ``'mean_logit'`` (the authors' code without its Gumbel noise; paper
    #: eq. 3 is ``'mean_prob'``), so converted P²HCT checkpoints reproduce
    #: the authors' outputs at ``topk > 0``; the PSTs' outer convs start
    #: from PyTorch's default initialisation, as all YOLO convs here.
    pst_defaults = MappingProxyType(
        dict(fusion='gate', score='mean_logit', conv_init='pytorch'))

    def __init__(self,
                 in_channels: Sequence[int],
                 scale: str = 'n',
                 layout: str = 'yolo12',
                 use_pst: bool = True,
                 p5_attention: bool = False,
                 pst_cfg: OptConfigType = None,
                 upsample_cfg: ConfigType = dict(
                     scale_factor=2, mode='nearest'),
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG,
                 init_cfg: OptMultiConfig = None,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        sc = get_yolo_scale(scale)
        ch, rep = sc.channels, sc.repeats
        # old spellings fail with the new one
        pst_cfg = self.resolve_pst_cfg(pst_cfg, kwargs, num_blocks=rep(2))
        in_channels = list(in_channels)
        if len(in_channels) != 3 or any(
                not isinstance(c, int) or c <= 0 for c in in_channels):
            raise ValueError(f'YOLOPSTNeck fuses three levels (C3, C4, C5): '
                             f'in_channels must be 3 positive ints, got '
                             f'{in_channels}')
        if layout not in ('yolo11', 'yolo12'):
            raise ValueError(
                f"layout must be 'yolo11' or 'yolo12', got {layout!r}")
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        c3, c4, c5 = in_channels
        self.in_channels = in_channels
        self.scale = scale
        self.layout = layout
        self.use_pst = use_pst
        self.upsample_cfg = dict(upsample_cfg)
        w3, w4, w5 = ch(256), ch(512), ch(1024)
        self.out_channels = [w3, w4, w5]

        if p5_attention:
            residual, mlp_ratio = sc.a2c2f_residual
            self.p5_block = nn.Sequential(
                yolo_conv(c5, w5, 1, **cfg),
                A2C2f(w5, w5, rep(4), True, 1, residual, mlp_ratio, **cfg))
            c5 = w5
        else:
            self.p5_block = None

        def fusion(in_ch: int, out_ch: int, upper_ch: int) -> nn.Module:
            if use_pst:
                return PyramidSparseTransformer(in_ch, upper_ch, out_ch,
                                                out_ch // 2, **cfg, **pst_cfg)
            if layout == 'yolo11':
                return C3k2(in_ch, out_ch, rep(2), sc.c3k, **cfg)
            return A2C2f(in_ch, out_ch, rep(2), a2=False, **cfg)

        # top_down[0] fuses P4 (K/V: P5'), top_down[1] fuses P3 (K/V: C4)
        self.top_down = nn.ModuleList(
            [fusion(c5 + c4, w4, c5),
             fusion(w4 + c3, w3, c4)])
        self.downsample_convs = nn.ModuleList(
            [yolo_conv(w3, w3, 3, 2, **cfg),
             yolo_conv(w4, w4, 3, 2, **cfg)])
        if layout == 'yolo11':
            bottom_up4 = C3k2(w3 + w4, w4, rep(2), sc.c3k, **cfg)
        else:
            bottom_up4 = A2C2f(w3 + w4, w4, rep(2), a2=False, **cfg)
        self.bottom_up = nn.ModuleList(
            [bottom_up4, C3k2(w4 + c5, w5, rep(2), True, **cfg)])

    def _up(self, x: Tensor, like: Tensor) -> Tensor:
        up = F.interpolate(x, **self.upsample_cfg)
        if up.shape[-2:] != like.shape[-2:]:
            raise ValueError(
                f'YOLOPSTNeck: upsampled map {tuple(up.shape[-2:])} does not '
                f'match the finer level {tuple(like.shape[-2:])}; pad inputs '
                f'to a multiple of 32 (pad_size_divisor=32)')
        return up

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """
        Args:
            inputs (Sequence[Tensor]): C3, C4, C5 with ``in_channels``
                channels, strides 8, 16, 32.

        Returns:
            tuple[Tensor]: N3, N4, N5 with ``out_channels`` channels at the
            strides of the inputs.
        """
        if len(inputs) != 3 or [x.shape[1] for x in inputs
                                ] != self.in_channels:
            raise ValueError(
                f'YOLOPSTNeck expects 3 levels with channels '
                f'{self.in_channels}, got '
                f'{[tuple(x.shape) for x in inputs]}')
        c3, c4, c5 = inputs
        if self.p5_block is not None:
            c5 = self.p5_block(c5)
        uppers: List[Tensor] = [c5, c4]
        # _up checks each upper is exactly half the finer grid: the PSTs
        # trust their inputs
        t4 = torch.cat([self._up(c5, c4), c4], 1)
        t4 = self.top_down[0](t4, uppers[0], checked=True) if \
            self.use_pst else self.top_down[0](t4)
        t3 = torch.cat([self._up(t4, c3), c3], 1)
        t3 = self.top_down[1](t3, uppers[1], checked=True) if \
            self.use_pst else self.top_down[1](t3)
        n4 = self.bottom_up[0](torch.cat([self.downsample_convs[0](t3), t4],
                                         1))
        n5 = self.bottom_up[1](torch.cat([self.downsample_convs[1](n4), c5],
                                         1))
        return t3, n4, n5
