# Copyright (c) pst-mm contributors. All rights reserved.
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import Tensor

from ..layers import PyramidSparseTransformer


@MODELS.register_module()
class PSTClsNeck(BaseModule):
    """PST-CLS neck (PST paper, Sec. 3.3, Fig. 3b).

    Fuses the two last backbone levels with one Pyramid Sparse Transformer
    (queries from C4, keys/values from C5), brings the result to C5's
    resolution, concatenates it with C5, fuses with a 1x1 conv and
    global-average-pools::

        C4 (C4ch, H, W) ──┐
                          PST(upper=C5) ─> (C', H, W) ─3x3 s2─> (C', H/2, W/2)
        C5 (C5ch, H/2, W/2) ─────────────────────────────┬──> cat
                                                          └─ 1x1 ─> GAP
        -> ((B, out_channels), )

    The output is a 1-tuple so ``LinearClsHead`` (which reads
    ``feats[-1]``) works unchanged.

    Args:
        in_channels (Sequence[int]): Channels of C4 and C5.
        embed_channels (int): PST token width C' (paper appendix Table 5:
            256 for ResNet-18, 1024 for ResNet-50/101).
        out_channels (int, optional): Output channels; None keeps C5's, so
            the baseline head fits unchanged. Defaults to None.
        num_blocks (int): PSA blocks in the PST. Defaults to 1.
        mlp_ratio (float): MLP ratio of the PSA blocks. Defaults to 2.0.
        topk (int): Fine-attention top-k at inference; switch at test time
            with ``--cfg-options model.neck.topk=K``. Defaults to 8.
        score_thr (float): Selection threshold. Defaults to 1e-6.
        fine_in_training (bool): Fine branch in training. Defaults to False.
        gate (bool): Self-gating (eq. 7-8). Defaults to False.
        share_kv (bool): Shared coarse/fine K/V. Defaults to True.
        attn (str): ``'softmax'``, ``'linear'`` or ``'linear_relu'``.
            Defaults to 'softmax'.
        impl (str): Attention kernel. Defaults to 'auto'.
        num_heads (int, optional): Heads; None = C' / 32. Defaults to None.
        norm_cfg (dict): Norm layer. Defaults to BN.
        act_cfg (dict): Activation. Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Example:
        >>> import torch
        >>> neck = PSTClsNeck((256, 512), embed_channels=64)
        >>> c4, c5 = torch.rand(2, 256, 14, 14), torch.rand(2, 512, 7, 7)
        >>> [tuple(o.shape) for o in neck((c4, c5))]
        [(2, 512)]
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 embed_channels: int,
                 out_channels: Optional[int] = None,
                 num_blocks: int = 1,
                 mlp_ratio: float = 2.0,
                 topk: int = 8,
                 score_thr: float = 1e-6,
                 fine_in_training: bool = False,
                 gate: bool = False,
                 share_kv: bool = True,
                 attn: str = 'softmax',
                 impl: str = 'auto',
                 num_heads: Optional[int] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        if len(in_channels) != 2 or not all(
                isinstance(c, int) and c > 0 for c in in_channels):
            raise ValueError(
                f'PSTClsNeck takes two levels (C4, C5): in_channels must be '
                f'two positive ints, got {in_channels}')
        c4, c5 = in_channels
        out_channels = c5 if out_channels is None else out_channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pst = PyramidSparseTransformer(
            c4,
            c5,
            embed_channels,
            embed_channels,
            num_blocks=num_blocks,
            mlp_ratio=mlp_ratio,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            num_heads=num_heads,
            topk=topk,
            score_thr=score_thr,
            fine_in_training=fine_in_training,
            gate=gate,
            share_kv=share_kv,
            attn=attn,
            impl=impl)
        self.downsample = ConvModule(
            embed_channels, embed_channels, 3, stride=2, padding=1, **conv)
        self.fuse = ConvModule(embed_channels + c5, out_channels, 1, **conv)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, inputs: Tuple[Tensor]) -> Tuple[Tensor]:
        """
        Args:
            inputs (tuple[Tensor]): ``(C4, C5)``; a longer tuple uses its
                last two entries.

        Returns:
            tuple[Tensor]: ``((B, out_channels), )``.
        """
        if not isinstance(inputs, (tuple, list)) or len(inputs) < 2:
            raise ValueError(
                'PSTClsNeck needs the two last backbone levels (C4, C5): set '
                'the backbone out_indices=(2, 3)')
        c4, c5 = inputs[-2:]
        for name, x, c in (('C4', c4, self.in_channels[0]),
                           ('C5', c5, self.in_channels[1])):
            if x.dim() != 4 or x.shape[1] != c:
                raise ValueError(f'{name} has shape {tuple(x.shape)}, expected '
                                 f'(B, {c}, H, W) from in_channels='
                                 f'{self.in_channels}')
        fused = self.downsample(self.pst(c4, c5))
        out = self.fuse(torch.cat([fused, c5], dim=1))
        return (self.gap(out).flatten(1), )
