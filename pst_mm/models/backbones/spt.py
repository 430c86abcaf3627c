# Copyright (c) pst-mm contributors. All rights reserved.
"""Select-and-Pack Transformer (SPT) backbone on mmdet's Swin Transformer.

Zhang et al., "Enhancing Vision Transformers for Object Detection via
Context-Aware Token Selection and Packing", arXiv 2410.23608.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones.swin import SwinBlock, SwinTransformer
from mmdet.registry import MODELS
from mmengine.model import ModuleList
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from torch import Tensor

from ..layers.checks import check_choice
from ..layers.select_pack_attention import (NOISE_TYPES, check_container_len,
                                            check_select_threshold,
                                            select_pack_attention,
                                            select_tokens)


def _check_spa_args(window_size: int, container_len: Optional[int],
                    select_thr: float, noise: str, tau: float) -> int:
    """Validate the SPA arguments shared by :class:`SPABlock` and
    :class:`SPT`; return ``container_len`` (``window_size**2`` if None)."""
    container_len = window_size**2 if container_len is None \
        else container_len
    check_container_len(container_len, window_size)
    check_select_threshold(select_thr)
    check_choice('noise', noise, NOISE_TYPES)
    if not tau > 0:
        raise ValueError(f'tau must be positive, got {tau!r}')
    return container_len


class SPABlock(SwinBlock):
    """Select-and-Pack Attention block (paper Sec. 3.2, Fig. 3).

    A Swin block with the same parameter names (a Swin checkpoint loads;
    only ``gate`` is new) whose attention runs on the selected tokens only:

    1. ``s = max(gate(norm1(x)), s_up)`` (eq. 4), ``s_up`` the max-pooled
       score map of the previous scale;
    2. selection ``sigmoid(s + noise) > select_thr`` in training with a
       straight-through weight ``w``, ``sigmoid(s) > select_thr`` at
       inference (:func:`select_tokens`);
    3. the selected tokens of ``sigmoid(s) * w * norm1(x)`` (eqs. 5-6) are
       laid out in Swin's window order (after the cyclic shift on odd
       blocks), packed into containers of ``container_len`` slots across
       the batch and attend only to tokens of the same image and, on
       shifted blocks, of the same SW-MSA region;
    4. unselected tokens skip attention; the FFN runs on every token.

    **Gate placement (our choice, eq. 5 read literally gates the block
    input).** Gating ``r`` before ``norm1`` gives the gate almost no task
    gradient, because LayerNorm is invariant to the scale ``sigmoid(s)``
    (measured max |grad| 0.007 vs 18.1 after the norm,
    configs/spt/README.md): the gate reads ``norm1(x)`` and scales it, so
    the detection loss trains it even with the selection loss off (a test
    checks this).

    With every token selected, ``gating=False`` and ``rel_pos_bias=False``
    the block equals mmdet's :class:`SwinBlock` with a zero bias table
    (window order and the SW-MSA region mask are reproduced exactly).

    Args:
        embed_dims (int): Channels.
        num_heads (int): Attention heads.
        feedforward_channels (int): FFN hidden channels.
        window_size (int): Swin window ``M``. Defaults to 7.
        shift (bool): Cyclic shift by ``M // 2`` before packing (odd
            blocks, as Swin). Defaults to False.
        container_len (int, optional): Container length ``L``; must be
            ``M**2`` (paper Sec. 3.2). Defaults to None (``M**2``).
        select_thr (float): Selection threshold on the sigmoid scale.
            Defaults to 0.01 (paper Sec. 4.1).
        noise (str): Training noise, ``'logistic'`` (the two-class
            Gumbel-Softmax, zero-mean), ``'gumbel'`` or ``'none'``.
            Defaults to ``'logistic'``.
        tau (float): Gumbel-Softmax temperature. Defaults to 1.0.
        rel_pos_bias (bool): Add Swin's relative-position bias between
            packed tokens (offsets clipped to ``+-(M-1)``). Defaults to
            False (the paper is silent; packed tokens are not a window).
        pack_per_image (bool): Never mix images in a container
            (batch-size-independent outputs). Defaults to False.
        gating (bool): Multiply the attention input by ``sigmoid(s)``
            (eq. 5). Defaults to True.
        attn_drop_rate (float): Must be 0 (packed SDPA has no attention
            dropout here). Defaults to 0.
        **kwargs: Other :class:`SwinBlock` arguments.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 feedforward_channels: int,
                 window_size: int = 7,
                 shift: bool = False,
                 container_len: Optional[int] = None,
                 select_thr: float = 0.01,
                 noise: str = 'logistic',
                 tau: float = 1.0,
                 rel_pos_bias: bool = False,
                 pack_per_image: bool = False,
                 gating: bool = True,
                 attn_drop_rate: float = 0.,
                 **kwargs) -> None:
        container_len = _check_spa_args(window_size, container_len,
                                        select_thr, noise, tau)
        if attn_drop_rate != 0:
            raise ValueError('SPABlock: attn_drop_rate must be 0 (packed '
                             f'attention has no dropout), got '
                             f'{attn_drop_rate!r}')
        super().__init__(
            embed_dims,
            num_heads,
            feedforward_channels,
            window_size=window_size,
            shift=shift,
            **kwargs)
        self.num_heads = num_heads
        self.window_size = window_size
        self.container_len = container_len
        self.select_thr = select_thr
        self.noise = noise
        self.tau = tau
        self.rel_pos_bias = rel_pos_bias
        self.pack_per_image = pack_per_image
        self.gating = gating
        self.gate = nn.Linear(embed_dims, 1)

    def _window_layout(self, H: int, W: int,
                       device: torch.device) -> Tuple[Tensor, ...]:
        """Swin's window order as indices: for every window-order slot of
        the padded, shifted map, its index in the padded raster, its SW-MSA
        region and its (y, x) in the shifted frame."""
        M, sh = self.window_size, self.attn.shift_size
        Hp, Wp = -(-H // M) * M, -(-W // M) * M
        raster = torch.arange(Hp * Wp, device=device).view(1, Hp, Wp, 1)
        region = torch.zeros(1, Hp, Wp, 1, dtype=torch.long, device=device)
        if sh > 0:
            raster = torch.roll(raster, (-sh, -sh), (1, 2))
            # Swin's nine regions of the shifted frame (ShiftWindowMSA).
            cuts = (slice(0, -M), slice(-M, -sh), slice(-sh, None))
            for i, h in enumerate(cuts):
                for j, w in enumerate(cuts):
                    region[:, h, w, :] = 3 * i + j
        ys, xs = torch.meshgrid(
            torch.arange(Hp, device=device),
            torch.arange(Wp, device=device),
            indexing='ij')
        yx = torch.stack([ys, xs], -1).unsqueeze(0)
        part = self.attn.window_partition
        return (part(raster).reshape(-1), part(region).reshape(-1),
                part(yx).reshape(-1, 2), Hp, Wp)

    def _attention(self, a: Tensor, sel: Tensor,
                   hw_shape: Tuple[int, int]) -> Tensor:
        B, N, C = a.shape
        H, W = hw_shape
        perm, region, yx, Hp, Wp = self._window_layout(H, W, a.device)
        a = F.pad(a.view(B, H, W, C), (0, 0, 0, Wp - W, 0, Hp - H))
        padded = sel.new_zeros(B, Hp, Wp)  # pads are never selected
        padded[:, :H, :W] = sel
        sel = padded
        a = a.view(B, Hp * Wp, C)[:, perm]
        sel = sel.reshape(B, Hp * Wp)[:, perm]
        group = torch.arange(B, device=a.device)[:, None] * 9 + region
        w_msa = self.attn.w_msa
        out = select_pack_attention(
            a,
            sel,
            group,
            w_msa.qkv.weight,
            w_msa.qkv.bias,
            w_msa.proj.weight,
            w_msa.proj.bias,
            num_heads=self.num_heads,
            container_len=self.container_len,
            pack_per_image=self.pack_per_image,
            scale=w_msa.scale,
            coords=yx.expand(B, -1, 2) if self.rel_pos_bias else None,
            bias_table=w_msa.relative_position_bias_table
            if self.rel_pos_bias else None,
            window_size=self.window_size)
        out = out[:, torch.argsort(perm)].view(B, Hp, Wp, C)[:, :H, :W]
        return w_msa.proj_drop(out.reshape(B, N, C))

    def forward(self,
                x: Tensor,
                hw_shape: Tuple[int, int],
                s_up: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """Forward.

        Args:
            x (Tensor): ``(B, H*W, C)`` tokens.
            hw_shape (tuple[int, int]): ``(H, W)``.
            s_up (Tensor, optional): ``(B, 1, H, W)`` score logits of the
                previous scale, max-pooled. Defaults to None.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Output tokens ``(B, H*W, C)``,
            score logits ``s`` ``(B, 1, H, W)`` and the boolean selection
            ``(B, H, W)``.
        """
        B, N, C = x.shape
        H, W = hw_shape

        def _inner_forward(x, s_up):
            xn = self.norm1(x)
            s = self.gate(xn).view(B, 1, H, W)
            if s_up is not None:
                s = torch.maximum(s, s_up)
            sel, weight = select_tokens(s, self.select_thr, self.training,
                                        self.noise, self.tau)
            if self.gating:
                weight = weight * torch.sigmoid(s)
            a = xn * weight.view(B, N, 1)
            sel = sel.view(B, H, W)
            x = x + self.attn.drop(self._attention(a, sel, hw_shape))
            x = self.ffn(self.norm2(x), identity=x)
            return x, s, sel

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(
                _inner_forward, x, s_up, use_reentrant=False)
        return _inner_forward(x, s_up)


class SPTSelection(NamedTuple):
    """What the SPT backbone selected in one forward.

    Attributes:
        logits (list[Tensor]): Score logits ``(B, 1, h, w)`` to supervise:
            the gate of the stage before the first SPA stage, then every
            SPA block's ``s``.
        strides (list[int]): Input stride of each map in ``logits``.
        masks (list[Tensor]): Boolean selections ``(B, h, w)`` of every
            SPA block.
        stages (list[int]): 0-based stage of each entry of ``masks``.
        ratios (dict[str, Tensor]): Mean selected share per SPA stage,
            ``'select_ratio_s{stage + 1}'`` (the paper numbers stages from
            1), detached.
    """
    logits: List[Tensor]
    strides: List[int]
    masks: List[Tensor]
    stages: List[int]
    ratios: Dict[str, Tensor]


@MODELS.register_module()
class SPT(SwinTransformer):
    """Select-and-Pack Transformer (paper Sec. 3.1, Fig. 2).

    mmdet's :class:`SwinTransformer` (patch embedding, patch merging,
    output norms, freezing and pretrained loading unchanged) whose stages
    ``spa_stages`` (default the last two) are built of :class:`SPABlock`.
    A linear gate ``gate0`` on the output of the stage before the first SPA
    stage gives ``s0`` (eq. 1); each SPA block of a stage takes
    ``s_up = maxpool2(s_prev)`` with ``s_prev`` the previous stage's last
    score map (``ceil_mode`` matches PatchMerging's padding).

    ``forward(x)`` returns the feature maps like Swin (mmdet's and
    mmpretrain's backbone contract: a drop-in backbone);
    ``forward(x, return_select=True)`` also returns the
    :class:`SPTSelection` of this call. The backbone keeps no state between
    calls: whoever needs the selection (the selection loss of
    :class:`~pst_mm.models.losses.SelectLossMixin`, the analysis tools)
    asks for it in the call that computes it, so a selection can never be
    read from a different forward than the one it belongs to.

    The paper's sizes (Sec. 3.1, Table 1) are set in the configs: SPT-T/S
    are Swin-T/S with four more stage-3 blocks (Sec. 4.2; depths 2-2-10-2
    and 2-2-22-2), SPT-B is Swin-B + 4 (embed_dims 128, its Cascade Mask
    R-CNN has the paper's 153 M parameters), SPT-T/12 (App. B.2) keeps
    Swin-T's depths.

    Args:
        depths (Sequence[int]): Blocks per stage. Defaults to
            (2, 2, 10, 2) (SPT-T).
        num_heads (Sequence[int]): Heads per stage. Defaults to
            (3, 6, 12, 24).
        spa_stages (Sequence[int]): 0-based stages built of SPA blocks, a
            run that ends at the last stage. Defaults to (2, 3).
        select_thr, noise, tau, container_len, pack_per_image,
        rel_pos_bias, gating: See :class:`SPABlock` (the selection, then
        the packing and the Table 4 ablation switches).
        **kwargs: Other :class:`SwinTransformer` arguments.
    """

    def __init__(self,
                 depths: Sequence[int] = (2, 2, 10, 2),
                 num_heads: Sequence[int] = (3, 6, 12, 24),
                 spa_stages: Sequence[int] = (2, 3),
                 select_thr: float = 0.01,
                 noise: str = 'logistic',
                 tau: float = 1.0,
                 container_len: Optional[int] = None,
                 pack_per_image: bool = False,
                 rel_pos_bias: bool = False,
                 gating: bool = True,
                 **kwargs) -> None:
        depths, num_heads = tuple(depths), tuple(num_heads)
        if len(depths) != len(num_heads):
            raise ValueError(
                f'depths {depths} and num_heads {num_heads} must have the '
                'same length (one entry per stage)')
        n = len(depths)
        spa_stages = tuple(sorted(spa_stages))
        if not spa_stages or spa_stages != tuple(
                range(spa_stages[0], n)):
            raise ValueError(
                f'spa_stages must be a non-empty run of stages ending at '
                f'the last stage {n - 1}, got {spa_stages}')
        window_size = kwargs.get('window_size', 7)
        container_len = _check_spa_args(window_size, container_len,
                                        select_thr, noise, tau)
        super().__init__(depths=depths, num_heads=num_heads, **kwargs)
        self.spa_stages = spa_stages
        embed = kwargs.get('embed_dims', 96)
        mlp_ratio = kwargs.get('mlp_ratio', 4)
        rate = kwargs.get('drop_path_rate', 0.1)
        dpr = [x.item() for x in torch.linspace(0, rate, sum(depths))]
        for i in spa_stages:
            dims = embed * 2**i
            self.stages[i].blocks = ModuleList([
                SPABlock(
                    embed_dims=dims,
                    num_heads=num_heads[i],
                    feedforward_channels=mlp_ratio * dims,
                    window_size=window_size,
                    shift=j % 2 == 1,
                    container_len=container_len,
                    select_thr=select_thr,
                    noise=noise,
                    tau=tau,
                    rel_pos_bias=rel_pos_bias,
                    pack_per_image=pack_per_image,
                    gating=gating,
                    qkv_bias=kwargs.get('qkv_bias', True),
                    qk_scale=kwargs.get('qk_scale'),
                    drop_rate=kwargs.get('drop_rate', 0.),
                    attn_drop_rate=kwargs.get('attn_drop_rate', 0.),
                    drop_path_rate=dpr[sum(depths[:i]) + j],
                    act_cfg=kwargs.get('act_cfg', dict(type='GELU')),
                    norm_cfg=kwargs.get('norm_cfg', dict(type='LN')),
                    with_cp=kwargs.get('with_cp', False))
                for j in range(depths[i])
            ])
        first = spa_stages[0]
        # The paper's f_theta_g on r_2 (eq. 1), absent when SPA starts at
        # the first stage (Table 6, last row). It reads r_2 through its own
        # LayerNorm like the block gates read norm1(x): on the raw residual
        # stream its logits are so much larger that max(gate, s_up) always
        # picks s_up and the block gates get no gradient.
        self.gate0 = nn.Sequential(
            build_norm_layer(kwargs.get('norm_cfg', dict(type='LN')),
                             embed * 2**(first - 1))[1],
            nn.Linear(embed * 2**(first - 1), 1)) if first > 0 else None
        strides = kwargs.get('strides', (4, 2, 2, 2))
        self.stage_strides = [
            int(torch.tensor(strides[:i + 1]).prod()) for i in range(n)
        ]

    def train(self, mode: bool = True) -> 'SPT':
        """Swin's ``train`` (keeps frozen stages in eval), returning
        ``self`` as ``nn.Module.train`` does (mmdet's returns None)."""
        super().train(mode)
        return self

    def forward(
        self,
        x: Tensor,
        return_select: bool = False
    ) -> Union[Tuple[Tensor, ...], Tuple[Tuple[Tensor, ...], SPTSelection]]:
        """Forward.

        Args:
            x (Tensor): ``(B, 3, H, W)`` images.
            return_select (bool): Also return the :class:`SPTSelection`.
                Defaults to False.

        Returns:
            tuple[Tensor] | tuple[tuple[Tensor], SPTSelection]: NCHW
            features of ``out_indices`` (and the selection); a tuple, as
            mmpretrain's necks require (mmdet's necks take it too).
        """
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + self.absolute_pos_embed
        x = self.drop_after_pos(x)
        B = x.shape[0]
        logits, strides, masks, stages = [], [], [], []
        s_prev = None
        outs = []
        for i, stage in enumerate(self.stages):
            if i in self.spa_stages:
                s_up = None if s_prev is None else F.max_pool2d(
                    s_prev, 2, 2, ceil_mode=True)
                for block in stage.blocks:
                    x, s, sel = block(x, hw_shape, s_up)
                    logits.append(s)
                    strides.append(self.stage_strides[i])
                    masks.append(sel)
                    stages.append(i)
                s_prev = s
                out, out_hw_shape = x, hw_shape
                if stage.downsample:
                    x, hw_shape = stage.downsample(x, hw_shape)
            else:
                x, hw_shape, out, out_hw_shape = stage(x, hw_shape)
                if i + 1 == self.spa_stages[0]:
                    s_prev = self.gate0(out).transpose(1, 2).reshape(
                        B, 1, *out_hw_shape)
                    logits.append(s_prev)
                    strides.append(self.stage_strides[i])
            if i in self.out_indices:
                norm_layer = getattr(self, f'norm{i}')
                out = norm_layer(out)
                out = out.view(-1, *out_hw_shape,
                               self.num_features[i]).permute(0, 3, 1,
                                                             2).contiguous()
                outs.append(out)
        if not return_select:
            return tuple(outs)
        ratios = {
            f'select_ratio_s{i + 1}': torch.stack([
                m.float().mean() for m, st in zip(masks, stages) if st == i
            ]).mean().detach()
            for i in self.spa_stages
        }
        return tuple(outs), SPTSelection(logits, strides, masks, stages,
                                         ratios)


PRETRAIN_MODELS.register_module(module=SPT)

__all__ = ['SPT', 'SPABlock', 'SPTSelection']
