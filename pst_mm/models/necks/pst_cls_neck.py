# Copyright (c) pst-mm contributors. All rights reserved.
from types import MappingProxyType
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor

from ..layers import PSTConfigMixin, PyramidSparseTransformer
from ..layers.checks import (check_half_size, check_positive_ints,
                             raise_on_shape_mismatch)


@MODELS.register_module()
class PSTClsNeck(PSTConfigMixin, BaseModule):
    """PST-CLS neck (PST paper, Sec. 3.3, Fig. 3b), wired as the authors'
    classification models (``r{18,50,101}-cls-pst.yaml``).

    One Pyramid Sparse Transformer fuses the two last backbone levels
    (queries from C4, keys/values from C5); its output is concatenated with
    C4, brought to C5's resolution by a 3x3 stride-2 conv, concatenated with
    C5 and fused by a 1x1 conv::

        C4 (C4ch, H, W) ──┬─> PST(upper=C5) ─> (channels, H, W) ─┐
                          └──────────────────────────────────────> cat
                                 ─3x3 s2─> (channels, H/2, W/2) ─┐
        C5 (C5ch, H/2, W/2) ────────────────────────────────────> cat
                                 ─1x1─> (out_channels, H/2, W/2) [─> GAP]

    With ``global_pool=True`` the output is ``((B, out_channels), )`` for
    mmpretrain's ``LinearClsHead``; with ``global_pool=False`` it is the map,
    for a head that convolves before pooling (the paper's models use
    :class:`ConvPoolClsHead`, the official ``Classify``).

    Args:
        in_channels (Sequence[int]): Channels of C4 and C5.
        channels (int): Output width of the PST and of the 3x3 conv: 256 for
            the paper's N models, 512 for S (official yamls; the token width
            is ``channels // 2`` = 128 / 256). Defaults to 256.
        out_channels (int, optional): Width of the final 1x1 conv; None means
            ``channels`` (the paper's models). Defaults to None.
        embed_channels (int, optional): PST token width C'; None means
            ``channels // 2`` (the official ``e = 0.5``). Defaults to None.
        concat_c4 (bool): Concatenate C4 with the PST output before the 3x3
            conv, as the official models do. Defaults to True.
        global_pool (bool): Global-average-pool the output. Defaults to True.
        pst_cfg (dict, optional): Options of the PST and its attention, any
            of :data:`~pst_mm.models.layers.PST_CFG_DEFAULTS` (``topk``,
            ``fusion``: the Table 3 configs set the official ``'gate'``,
            ...), over :attr:`pst_defaults`. Switch the top-k at test time
            with ``--cfg-options model.neck.pst_cfg.topk=K``.
            Defaults to None.
        norm_cfg (dict): Norm layer. Defaults to BN.
        act_cfg (dict): Activation. Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Example:
        >>> import torch
        >>> neck = PSTClsNeck((256, 512), channels=64, out_channels=512,
        ...                   pst_cfg=dict(topk=8))
        >>> c4, c5 = torch.rand(2, 256, 14, 14), torch.rand(2, 512, 7, 7)
        >>> [tuple(o.shape) for o in neck((c4, c5))]
        [(2, 512)]
    """

    #: The official trunc-normal init of the PSA blocks' convs, pinned
    #: because the paper's models are built from it; every other PST option
    #: is the library default (``topk=8``, ``fusion='sum_norm'``, ...).
    pst_defaults = MappingProxyType(dict(weight_init='trunc_normal'))
    removed_args = MappingProxyType({
        'expand_ratio':
        "'expand_ratio' was removed: set C' with embed_channels="
        'int(channels * expand_ratio) (None is channels // 2)'
    })

    def __init__(self,
                 in_channels: Sequence[int],
                 channels: int = 256,
                 out_channels: Optional[int] = None,
                 embed_channels: Optional[int] = None,
                 concat_c4: bool = True,
                 global_pool: bool = True,
                 pst_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        # old spellings fail with the new one
        pst_cfg = self.resolve_pst_cfg(pst_cfg, kwargs)
        in_channels = list(in_channels)
        if len(in_channels) != 2 or not all(
                isinstance(c, int) and c > 0 for c in in_channels):
            raise ValueError(
                f'PSTClsNeck takes two levels (C4, C5): in_channels must be '
                f'two positive ints, got {in_channels}')
        out_channels = channels if out_channels is None else out_channels
        check_positive_ints(
            'PSTClsNeck', channels=channels, out_channels=out_channels)
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.in_channels = in_channels
        self.channels = channels
        self.out_channels = out_channels
        self.concat_c4 = concat_c4
        self.global_pool = global_pool
        c4, c5 = in_channels
        self.pst = PyramidSparseTransformer(c4, c5, channels, embed_channels,
                                            **conv, **pst_cfg)
        self.downsample = ConvModule(
            channels + (c4 if concat_c4 else 0),
            channels,
            3,
            stride=2,
            padding=1,
            **conv)
        self.fuse = ConvModule(channels + c5, out_channels, 1, **conv)
        self.gap = nn.AdaptiveAvgPool2d(1) if global_pool else None

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        raise_on_shape_mismatch(
            self, state_dict, prefix,
            'the checkpoint was trained with another PST-CLS layout '
            '(channels, out_channels, concat_c4 or the PST options)')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        """
        Args:
            inputs (tuple[Tensor]): ``(C4, C5)``; a longer tuple uses its
                last two entries.

        Returns:
            tuple[Tensor]: ``((B, out_channels), )``, or
            ``((B, out_channels, H/2, W/2), )`` without global pooling.
        """
        if not isinstance(inputs, (tuple, list)) or len(inputs) < 2:
            raise ValueError(
                'PSTClsNeck needs the two last backbone levels (C4, C5): set '
                'the backbone out_indices=(2, 3)')
        c4, c5 = inputs[-2:]
        for name, x, c in (('C4', c4, self.in_channels[0]),
                           ('C5', c5, self.in_channels[1])):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(
                    f'{name} has shape {tuple(x.shape)}, expected '
                    f'(B, {c}, H, W) from in_channels={self.in_channels}')
        check_half_size(c4, c5, ('C4', 'C5'))
        # checked here, once: the PST trusts its inputs
        x = self.pst(c4, c5, checked=True)
        if self.concat_c4:
            x = torch.cat([x, c4], dim=1)
        out = self.fuse(torch.cat([self.downsample(x), c5], dim=1))
        if self.gap is None:
            return (out, )
        return (self.gap(out).flatten(1), )
