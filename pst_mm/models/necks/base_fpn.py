# Copyright (c) pst-mm contributors. All rights reserved.
"""What every pyramid neck here shares with mmdet's ``FPN``: input checks,
the extra levels (P6, P7) and, for the attention-FPN baselines, FPN itself
with hooks for what each paper changes (the MMYOLO ``BaseYOLONeck``
pattern)."""
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.necks import FPN
from mmdet.utils import OptConfigType
from torch import Tensor

EXTRA_CONV_SOURCES = ('on_input', 'on_lateral', 'on_output')


def check_extra_convs(add_extra_convs: Union[bool, str]) -> Union[bool, str]:
    """Normalise ``add_extra_convs`` as mmdet's FPN does (``True`` means
    ``'on_input'``) and reject anything else by name."""
    if add_extra_convs is True:
        return 'on_input'
    if add_extra_convs not in (False, ) + EXTRA_CONV_SOURCES:
        raise ValueError(f'add_extra_convs must be False, True or one of '
                         f'{EXTRA_CONV_SOURCES}, got {add_extra_convs!r}')
    return add_extra_convs


def check_in_channels(in_channels: Sequence[int], start_level: int,
                      min_levels: int, name: str) -> List[int]:
    """Validate ``in_channels``/``start_level`` and return them as a list."""
    in_channels = list(in_channels)
    if not all(isinstance(c, int) and c > 0 for c in in_channels):
        raise ValueError(
            f'{name}: in_channels must be positive ints, got {in_channels}')
    if not 0 <= start_level < len(in_channels) or \
            len(in_channels) - start_level < min_levels:
        raise ValueError(
            f'{name} needs at least {min_levels} levels: in_channels '
            f'{in_channels} from start_level={start_level} gives '
            f'{in_channels[start_level:]}')
    return in_channels


def check_pyramid_inputs(inputs: Sequence[Tensor], in_channels: List[int],
                         start_level: int, name: str,
                         halving: bool) -> List[Tensor]:
    """Check the backbone features against ``in_channels`` and return the
    levels from ``start_level`` on.

    Args:
        inputs (Sequence[Tensor]): One (B, C_i, H_i, W_i) map per level.
        in_channels (list[int]): Expected channels per level.
        start_level (int): First level used.
        name (str): Neck name for the error messages.
        halving (bool): Require each used level to be exactly
            ``ceil(H / 2) x ceil(W / 2)`` of the one below (what stride-2
            backbones give and what 2x reassembly/attention needs).
    """
    if len(inputs) != len(in_channels):
        raise ValueError(f'{name} expects {len(in_channels)} input levels '
                         f'(in_channels={in_channels}), got {len(inputs)}')
    for i, (x, c) in enumerate(zip(inputs, in_channels)):
        if x.dim() != 4 or x.shape[1] != c:
            raise ValueError(
                f'{name}: input level {i} has shape {tuple(x.shape)}, '
                f'expected (B, {c}, H, W) from in_channels={in_channels}')
    feats = list(inputs[start_level:])
    if halving:
        for fine, coarse in zip(feats[:-1], feats[1:]):
            H, W = fine.shape[-2:]
            if tuple(coarse.shape[-2:]) != ((H + 1) // 2, (W + 1) // 2):
                raise ValueError(
                    f'{name}: consecutive levels must halve the size (ceil):'
                    f' got {H}x{W} then {coarse.shape[-2]}x'
                    f'{coarse.shape[-1]}')
    return feats


def build_extra_convs(num_extra: int, source: Union[bool, str],
                      top_in_channels: int, out_channels: int,
                      conv_cfg: OptConfigType, norm_cfg: OptConfigType,
                      act_cfg: OptConfigType) -> nn.ModuleList:
    """Stride-2 3x3 convs of the extra levels, as in mmdet's FPN (none when
    ``source`` is False: the levels are max-pooled instead)."""
    convs = nn.ModuleList()
    if source:
        for i in range(num_extra):
            c_in = top_in_channels if i == 0 and source == 'on_input' \
                else out_channels
            convs.append(
                ConvModule(
                    c_in,
                    out_channels,
                    3,
                    stride=2,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
    return convs


def add_extra_levels(outs: List[Tensor], num_outs: int,
                     source: Union[bool, str], convs: nn.ModuleList,
                     top_input: Tensor, top_lateral: Tensor,
                     relu_before_extra_convs: bool) -> List[Tensor]:
    """Append levels to ``outs`` until there are ``num_outs``, exactly as
    mmdet's FPN does."""
    if num_outs <= len(outs):
        return outs
    if not source:
        while len(outs) < num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return outs
    x = dict(
        on_input=top_input, on_lateral=top_lateral,
        on_output=outs[-1])[source]
    outs.append(convs[0](x))
    for conv in convs[1:]:
        x = outs[-1]
        outs.append(conv(F.relu(x) if relu_before_extra_convs else x))
    return outs


class BaseFPN(FPN):
    """mmdet's ``FPN`` with hooks, the base of the attention-FPN baselines
    (their papers change one or more of these steps and keep the rest of
    FPN).

    The layers are FPN's own (same ``lateral_convs``/``fpn_convs``, so an
    FPN checkpoint loads into the shared part). ``forward`` runs: lateral
    1x1 convs -> :meth:`enhance_laterals` -> top-down :meth:`fuse` from the
    coarsest level down -> 3x3 output convs -> :meth:`enhance_outputs` ->
    extra levels as FPN. The defaults of the three hooks give FPN's forward
    exactly, so a subclass states only what its paper changes. The
    arguments are checked first and a bad one raises a ``ValueError`` that
    names it.

    Args:
        in_channels (Sequence[int]): Channels of each backbone level.
        out_channels (int): Channels of every output level.
        num_outs (int): Number of output levels (5 for RetinaNet).
        start_level (int): First backbone level used (1 for C3 of a ResNet
            with ``out_indices=(0, 1, 2, 3)``). Defaults to 0.
        end_level (int): Last backbone level used; -1 = the last one (the
            only choice that allows extra levels). Defaults to -1.
        add_extra_convs (bool | str): Source of the extra levels, as in
            mmdet's FPN: ``False`` (max pool), ``True``/``'on_input'``,
            ``'on_lateral'`` or ``'on_output'``. Defaults to False.
        **kwargs: The other arguments of mmdet's ``FPN``
            (``relu_before_extra_convs``, ``no_norm_on_lateral``,
            ``conv_cfg``, ``norm_cfg``, ``act_cfg``, ``upsample_cfg``,
            ``init_cfg``), with FPN's defaults.
    """

    #: Whether consecutive levels must halve exactly (ceil); subclasses whose
    #: fusion works on a 2x grid set this.
    requires_halving = False

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_outs: int,
                 start_level: int = 0,
                 end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 **kwargs) -> None:
        name = type(self).__name__
        in_channels = check_in_channels(in_channels, start_level, 2, name)
        if not isinstance(out_channels, int) or out_channels <= 0:
            raise ValueError(
                f'{name}: out_channels must be a positive int, got '
                f'{out_channels!r}')
        last = len(in_channels) - 1 if end_level == -1 else end_level
        if not start_level < last < len(in_channels):
            raise ValueError(
                f'{name}: end_level={end_level} must be -1 or a level after '
                f'start_level={start_level} of in_channels {in_channels}')
        num_levels = last - start_level + 1
        if num_outs < num_levels or (last < len(in_channels) - 1
                                     and num_outs != num_levels):
            raise ValueError(
                f'{name}: num_outs={num_outs} must be at least the '
                f'{num_levels} backbone levels used (exactly that when '
                f'end_level is not the last level)')
        super().__init__(
            in_channels,
            out_channels,
            num_outs,
            start_level=start_level,
            end_level=end_level,
            add_extra_convs=check_extra_convs(add_extra_convs),
            **kwargs)
        self.num_levels = num_levels

    @property
    def used_in_channels(self) -> List[int]:
        """Channels of the backbone levels the neck reads."""
        return self.in_channels[self.start_level:self.backbone_end_level]

    @property
    def extra_convs(self) -> nn.ModuleList:
        """The extra-level convs (FPN keeps them after the output convs)."""
        return self.fpn_convs[self.num_levels:]

    def upsample(self, upper: Tensor, lateral: Tensor) -> Tensor:
        """``upper`` on ``lateral``'s grid, as FPN's top-down path does."""
        if 'scale_factor' in self.upsample_cfg:
            return F.interpolate(upper, **self.upsample_cfg)
        return F.interpolate(
            upper, size=lateral.shape[2:], **self.upsample_cfg)

    # Hooks -----------------------------------------------------------------
    def enhance_laterals(self, feats: List[Tensor],
                         laterals: List[Tensor]) -> List[Tensor]:
        """Change the lateral maps before the top-down path (identity)."""
        return laterals

    def fuse(self, level: int, upper: Tensor, lateral: Tensor) -> Tensor:
        """Merge the (already fused) coarser map ``upper`` into ``lateral``
        of ``level`` (0 = finest): upsample and add, as FPN."""
        return lateral + self.upsample(upper, lateral)

    def enhance_outputs(self, outs: List[Tensor]) -> List[Tensor]:
        """Change the output maps before the extra levels (identity)."""
        return outs

    # -----------------------------------------------------------------------
    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        """
        Args:
            inputs (tuple[Tensor]): Backbone features, one per
                ``in_channels`` entry, each (B, C_i, H_i, W_i).

        Returns:
            tuple[Tensor]: ``num_outs`` maps of ``out_channels`` channels,
            strides of the ``start_level`` input x (1, 2, 4, ...).
        """
        feats = check_pyramid_inputs(
            inputs, self.in_channels, self.start_level, type(self).__name__,
            self.requires_halving)[:self.num_levels]
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, feats)]
        laterals = self.enhance_laterals(feats, laterals)
        for i in range(self.num_levels - 2, -1, -1):
            laterals[i] = self.fuse(i, laterals[i + 1], laterals[i])
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals)]
        outs = self.enhance_outputs(outs)
        return tuple(
            add_extra_levels(outs, self.num_outs, self.add_extra_convs,
                             self.extra_convs, feats[-1], laterals[-1],
                             self.relu_before_extra_convs))


__all__ = [
    'BaseFPN', 'EXTRA_CONV_SOURCES', 'add_extra_levels', 'build_extra_convs',
    'check_extra_convs', 'check_in_channels', 'check_pyramid_inputs'
]
