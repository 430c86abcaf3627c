# Copyright (c) pst-mm contributors. All rights reserved.
from typing import List, Optional, Sequence

from mmdet.registry import MODELS
from torch import Tensor
from torch.nn import ModuleDict

from ..layers import SparseAttentionBlock
from .base_fpn import BaseFPN


@MODELS.register_module()
class SAFPN(BaseFPN):
    """FPN with sparse attention blocks (Chen, Yu, Ling, "Sparse attention
    block: aggregating contextual information for object detection",
    Pattern Recognition 124, 2022), the "RetinaNet + SA block" baseline.

    Follows the paper: a non-local block whose keys and values are only the
    top-K local peaks of a heat map of its input, so every position
    aggregates context from a sparse set of representative positions at
    O(N K) cost (:class:`SparseAttentionBlock`).

    Our choices: one block per output level P3-P5 (``sa_levels``), after
    the FPN output convs and before P6/P7 are made as in mmdet's FPN; a
    learned 1x1 heat map, 3x3 peak test, K = 64, values scaled by
    ``sigmoid(heat)`` so the heat map is trained; scaled dot-product
    attention and a zero-initialised per-channel residual weight instead of
    the non-local block's zero-initialised BN; no norm in the FPN convs and
    Xavier init, as FPN.

    Args:
        num_points (int): Keys/values (peaks) per image. Defaults to 64.
        key_channels (int, optional): Attention channels; None =
            ``out_channels // 2``. Defaults to None.
        window (int): Window of the local-peak test. Defaults to 3.
        sa_levels (Sequence[int], optional): Output levels (0 = finest) that
            get a block; None = every backbone level. Defaults to None.
        *args, **kwargs: ``in_channels``, ``out_channels``, ``num_outs``,
            ``start_level`` and the other FPN arguments of :class:`BaseFPN`.
    """

    def __init__(self,
                 *args,
                 num_points: int = 64,
                 key_channels: Optional[int] = None,
                 window: int = 3,
                 sa_levels: Optional[Sequence[int]] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        levels = range(self.num_levels) if sa_levels is None else sa_levels
        levels = sorted(set(levels))
        if not levels or not all(
                isinstance(i, int) and 0 <= i < self.num_levels
                for i in levels):
            raise ValueError(
                f'sa_levels must be non-empty indices of the '
                f'{self.num_levels} backbone levels, got {sa_levels!r}')
        self.sa_levels = levels
        self.sa_blocks = ModuleDict({
            str(i): SparseAttentionBlock(self.out_channels, key_channels,
                                         num_points, window)
            for i in levels
        })

    def enhance_outputs(self, outs: List[Tensor]) -> List[Tensor]:
        return [
            self.sa_blocks[str(i)](x) if i in self.sa_levels else x
            for i, x in enumerate(outs)
        ]
