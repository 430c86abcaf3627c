# Copyright (c) pst-mm contributors. All rights reserved.
import math
from types import MappingProxyType
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.layers import CSPLayer
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from ..layers import PSTConfigMixin, PyramidSparseTransformer
from .base_fpn import (add_extra_levels, build_extra_convs, check_extra_convs,
                       check_in_channels, check_pyramid_inputs)


@MODELS.register_module()
class PSTFPN(PSTConfigMixin, BaseModule):
    """PST-DET feature pyramid (PST paper, Sec. 3.2, Fig. 3a).

    A PAN-style pyramid over three backbone levels whose top-down fusions are
    Pyramid Sparse Transformers: at each finer level the upsampled coarser
    output is concatenated with the lateral feature and fused by a PST whose
    upper (K/V) feature is the coarser output itself. The bottom-up path is a
    stride-2 conv, a concatenation and a CSP block (mmdet's ``CSPLayer``).
    Extra levels (P6, P7) are added exactly as mmdet's ``FPN`` adds them, so
    RetinaNet and other FPN heads work by changing only the neck field.

    ::

        C5 ─1x1─> L5 = T5 ──────────────────────────────┬──> cat ─CSP─> P5
                    │  (K/V)                            │     ^
                    up ──> cat[·, L4] ─PST(upper=T5)─> T4 ─┬─> cat ─CSP─> P4
        C4 ─1x1─> L4 ──────┘                 │ (K/V)   │   ^        │
                                             up        │   s2 conv   s2 conv
        C3 ─1x1─> L3 ───────> cat[·, L3] ─PST(upper=T4)─> T3 = P3 ─┘
        P6, P7: stride-2 3x3 convs on C5 / L5 / P5 (``add_extra_convs``) or
        max-pooling of P5 (``add_extra_convs=False``), as in mmdet's FPN.

    Args:
        in_channels (Sequence[int]): Channels of each backbone level given to
            the neck. Three levels from ``start_level`` on are used (C3-C5).
        out_channels (int): Channels of every output level.
        num_outs (int): Number of output levels, >= 3 (5 for RetinaNet).
        start_level (int): Index of C3 in ``in_channels``, so a backbone with
            ``out_indices=(0, 1, 2, 3)`` works with ``start_level=1`` like
            mmdet's FPN. Defaults to 0.
        embed_channels (Sequence[int]): PST token width C' of the P3 and P4
            fusions. The paper's N model has (64, 128) (appendix Table 5),
            S twice and M four times that. Defaults to (64, 128).
        num_csp_blocks (int): Bottlenecks per bottom-up CSP layer.
            Defaults to 1.
        add_extra_convs (bool | str): Source of the extra levels:
            ``False`` (max pool), ``True``/``'on_input'`` (C5),
            ``'on_lateral'`` (L5) or ``'on_output'`` (P5).
            Defaults to False.
        relu_before_extra_convs (bool): ReLU before every extra conv after
            the first. Defaults to False.
        pst_cfg (dict, optional): Options of both PSTs and their attention,
            any of :data:`~pst_mm.models.layers.PST_CFG_DEFAULTS`
            (``num_blocks``, ``topk``, ``fusion``, ``score``, ``impl``,
            ...), over :attr:`pst_defaults`. ``topk`` switches at test time,
            e.g. ``--cfg-options model.neck.pst_cfg.topk=0``.
            Defaults to None.
        upsample_cfg (dict): ``F.interpolate`` options of the top-down path.
            Defaults to ``dict(mode='nearest')``.
        conv_cfg (dict, optional): Conv layer config. Defaults to None.
        norm_cfg (dict): Norm layer config. Defaults to BN.
        act_cfg (dict): Activation config. Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to Kaiming-uniform for every Conv2d.

    Example:
        >>> import torch
        >>> neck = PSTFPN([128, 256, 512], 64, num_outs=5,
        ...               embed_channels=(64, 128), pst_cfg=dict(topk=8),
        ...               add_extra_convs='on_input')
        >>> feats = [torch.rand(1, c, 80 // 2**i, 80 // 2**i)
        ...          for i, c in enumerate([128, 256, 512])]
        >>> [tuple(o.shape) for o in neck(feats)]
        [(1, 64, 80, 80), (1, 64, 40, 40), (1, 64, 20, 20), (1, 64, 10, 10), (1, 64, 5, 5)]
    """  # noqa: E501

    #: This neck's PST defaults (the rest are the library's: ``topk=8``,
    #: ``fusion='sum_norm'``, ``score='mean_prob'``, one block, ...).
    #: ``weight_init='kaiming'`` (mmcv's ``ConvModule`` init, as mmdet's
    #: FPN) for the PSA blocks' convs, not the official trunc-normal,
    #: because this RetinaNet-style neck is ours, not a paper model; over 6
    #: demo seeds it spread less than the official init (std 0.039 against
    #: 0.058; configs/demo/README.md, "Stability and fine attention at test
    #: time").
    #: ``residual_init=0.1``: with 0.0 the blocks start as the identity, but
    #: no conv inside them gets a gradient until those scales have grown,
    #: and 300 SGD iterations left them at 0.006-0.026: the blocks all but
    #: off. 0.1 starts them near the identity and trains them from the
    #: first step; over 6 seeds it raised the held-out sets' mAP@50 (0.083
    #: to 0.146 and 0.015 to 0.024) with no run left without detections,
    #: and on the demo set's AdamW schedule it gave 0.466 +- 0.039 against
    #: 0.483 +- 0.021 with 0.0 and FPN's 0.441 +- 0.022
    #: (configs/pst_det/README.md, held-out study; configs/demo/README.md,
    #: "Stability").
    pst_defaults = MappingProxyType(
        dict(weight_init='kaiming', residual_init=0.1))
    removed_args = MappingProxyType({
        'preset':
        "'preset' was removed: set C' with embed_channels=(64, 128) for "
        "'n', (128, 256) for 's' or (256, 512) for 'm'",
        'base_embed_channels':
        "'base_embed_channels' was removed: set C' with embed_channels "
        "(preset 'n', 's', 'm' were 1, 2, 4 x base_embed_channels)"
    })

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_outs: int,
        start_level: int = 0,
        embed_channels: Sequence[int] = (64, 128),
        num_csp_blocks: int = 1,
        add_extra_convs: Union[bool, str] = False,
        relu_before_extra_convs: bool = False,
        pst_cfg: OptConfigType = None,
        upsample_cfg: ConfigType = dict(mode='nearest'),
        conv_cfg: OptConfigType = None,
        norm_cfg: ConfigType = dict(type='BN'),
        act_cfg: ConfigType = dict(type='SiLU'),
        init_cfg: OptMultiConfig = dict(
            type='Kaiming',
            layer='Conv2d',
            a=math.sqrt(5),
            distribution='uniform',
            mode='fan_in',
            nonlinearity='leaky_relu'),
        **kwargs
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        # old spellings fail with the new one
        pst_cfg = self.resolve_pst_cfg(pst_cfg, kwargs)
        in_channels = check_in_channels(in_channels, start_level, 1, 'PSTFPN')
        if len(in_channels) - start_level != 3:
            raise ValueError(
                f'PSTFPN fuses exactly three levels (C3-C5): in_channels '
                f'{in_channels} from start_level={start_level} gives '
                f'{in_channels[start_level:]}')
        if num_outs < 3:
            raise ValueError(f'num_outs must be >= 3, got {num_outs}')
        add_extra_convs = check_extra_convs(add_extra_convs)
        embed_channels = list(embed_channels)
        if len(embed_channels) != 2:
            raise ValueError(f'embed_channels needs one C\' for P3 and one '
                             f'for P4, got {embed_channels}')

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.start_level = start_level
        self.embed_channels = embed_channels
        self.add_extra_convs = add_extra_convs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_cfg = dict(upsample_cfg)
        feats = in_channels[start_level:]
        conv = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.lateral_convs = nn.ModuleList(
            ConvModule(c, out_channels, 1, **conv) for c in feats)
        # top_down_pst[i] fuses level i (0 = P3) with level i + 1 as upper.
        # mmengine's ModuleList: init_weights reaches the PSTs' blocks, whose
        # trunc-normal init must win over this neck's Kaiming init_cfg.
        self.top_down_pst = ModuleList(
            PyramidSparseTransformer(
                2 * out_channels,
                out_channels,
                out_channels,
                c,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                **pst_cfg) for c in embed_channels)
        self.downsample_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, stride=2, padding=1,
                       **conv) for _ in range(2))
        self.bottom_up_csp = nn.ModuleList(
            CSPLayer(
                2 * out_channels,
                out_channels,
                num_blocks=num_csp_blocks,
                add_identity=False,
                **conv) for _ in range(2))
        self.extra_convs = build_extra_convs(num_outs - 3, add_extra_convs,
                                             feats[-1], out_channels,
                                             conv_cfg, norm_cfg, None)

    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        """
        Args:
            inputs (tuple[Tensor]): One (B, C_i, H_i, W_i) map per
                ``in_channels`` entry; C3-C5 must halve in size (ceil).
                Checked here, once: the PSTs trust them.

        Returns:
            tuple[Tensor]: P3, P4, P5 and the extra levels, ``out_channels``
            each, at C3's stride x (1, 2, 4, ...).
        """
        feats = check_pyramid_inputs(inputs, self.in_channels,
                                     self.start_level, 'PSTFPN', True)
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, feats)]

        top_down = [laterals[2]]  # T5, T4, T3
        for i in (1, 0):
            upper = top_down[0]
            up = F.interpolate(
                upper, size=laterals[i].shape[-2:], **self.upsample_cfg)
            # the grids were checked above; up has the lateral's grid
            top_down.insert(
                0, self.top_down_pst[i](
                    torch.cat([up, laterals[i]], 1), upper, checked=True))

        outs = [top_down[0]]
        for i in (0, 1):
            down = self.downsample_convs[i](outs[-1])
            outs.append(self.bottom_up_csp[i](
                torch.cat([down, top_down[i + 1]], 1)))

        return tuple(
            add_extra_levels(outs, self.num_outs, self.add_extra_convs,
                             self.extra_convs, feats[-1], laterals[-1],
                             self.relu_before_extra_convs))
