# Copyright (c) pst-mm contributors. All rights reserved.
"""Pyramid Sparse Transformer modules (PST paper, Sec. 3.1, Fig. 2).

These are plain ``nn.Module``/``BaseModule`` building blocks with no registry:
the necks in :mod:`pst_mm.models.necks` wrap them, each building its PSTs from
one ``pst_cfg`` dict (:class:`PSTConfigMixin`).

Inputs are validated once, at the boundary a caller uses: a PST checks its
inputs and calls its blocks with ``checked=True``, and the attention then calls
the kernel with ``checked=True``, so neither checks again.
"""
import inspect
from types import MappingProxyType
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from .checks import (RENAMED, check_choice, check_fine_and_upper,
                     check_positive_ints, check_residual_init, check_topk,
                     raise_on_shape_mismatch, reject_renamed)
from .psa_kernel import IMPLS, SCORES, pyramid_sparse_attention_parts
from .yolo_blocks import YOLOConv

ATTN_TYPES = ('softmax', 'linear', 'linear_relu')
# How the coarse output O_c and the fine output O_f of each query combine
# when fine attention runs (see PyramidSparseAttention):
#   'sum'    O_c + O_f (paper eq. 6);
#   'gate'   g * O_f + (1 - g) * O_c, g = sigmoid(Conv1d(cat[O_c, O_f]))
#            per head, one Conv1d shared by the heads (official code);
#   'mean'   (O_c + O_f) / 2;
#   'sum_norm' (O_c + O_f) * |O_c| / |O_c + O_f| per query and head: the
#            sum's direction at the coarse output's norm, the scale the
#            projection and its BN saw in coarse-only training (ours);
#   'refine' O_c - sum_{j sel} A_ij v_j + (sum_{j sel} A_ij) O_f: the
#            attention mass a query gave the selected coarse keys is spent
#            on their fine children instead (ours).
FUSIONS = ('sum', 'gate', 'mean', 'refine', 'sum_norm')
CONCAT_INPUTS = ('embed', 'raw')
CPE_UPSAMPLES = ('bilinear', 'nearest')
WEIGHT_INITS = ('trunc_normal', 'kaiming')
CONV_INITS = ('kaiming', 'pytorch')


def _to_heads(x: Tensor, num_heads: int) -> Tensor:
    """(B, C, H, W) -> (B, heads, H*W, C // heads), contiguous.

    Contiguous because PyTorch's CPU SDPA falls back to its unfused math
    path (5x slower, materialising the attention matrix) on transposed views.
    """
    B, C, H, W = x.shape
    return x.reshape(B, num_heads, C // num_heads,
                     H * W).transpose(-2, -1).contiguous()


def _from_heads(x: Tensor, hw: tuple) -> Tensor:
    """(B, heads, H*W, d) -> (B, heads * d, H, W)."""
    B, h, N, d = x.shape
    return x.transpose(-2, -1).reshape(B, h * d, *hw)


def _linear_attention(q: Tensor, k: Tensor, v: Tensor, kind: str) -> Tensor:
    """Kernelised linear attention (Katharopoulos et al. 2020), O(N + M).

    ``'linear'`` uses the feature map elu(x) + 1, ``'linear_relu'`` ReLU.
    """
    phi = (lambda t: F.elu(t) + 1) if kind == 'linear' else F.relu
    q, k = phi(q), phi(k)
    kv = torch.matmul(k.transpose(-2, -1), v)  # (B, h, d, d)
    norm = torch.matmul(q, k.sum(dim=-2, keepdim=True).transpose(-2, -1))
    return torch.matmul(q, kv) / (norm + 1e-6)


class PyramidSparseAttention(BaseModule):
    """Pyramid Sparse Attention (PSA, paper eq. 1-8).

    Queries come from the fine map X (H x W), keys/values from the coarse map
    U (ceil(H/2) x ceil(W/2)). The same K/V projection is applied to X for the
    sparse fine attention, so a model trained coarse-only can switch fine
    attention on at inference without retraining.

    The defaults follow the authors' code where the paper is silent or
    differs from it (the authors' released code, github.com/inlmouse/P2HCT;
    ``configs/pst_det/README.md`` lists the options): bilinear CPE
    upsampling, trunc-normal initialisation (set by :class:`PSABlock`).
    Selection follows the paper (eq. 3 scores,
    threshold) and never adds noise: the official code adds Gumbel noise to
    its selection scores on every forward, inference included, so its fine
    attention is random at test time.

    Args:
        embed_dims (int): Channels C' of X and U.
        num_heads (int, optional): Attention heads; ``None`` means
            ``embed_dims // 32`` (the paper). Defaults to None.
        topk (int): Coarse keys whose 2x2 fine patches are attended at
            inference. 0 = coarse only. Defaults to 8.
        score_thr (float): Selection threshold on eq. 3 scores (unused by
            ``score='mean_logit'``). Defaults to 1e-6.
        score (str): Selection score: ``'mean_prob'`` (paper eq. 3, the mean
            over queries of the softmax probabilities) or ``'mean_logit'``
            (official code, the mean over queries of the scaled logits).
            Defaults to 'mean_prob'.
        fusion (str): How the coarse and fine outputs combine when fine
            attention runs: ``'sum_norm'`` (ours: the paper's sum rescaled
            per query and head to the coarse output's norm), ``'sum'``
            (paper eq. 6), ``'gate'`` (official code: ``g * fine +
            (1 - g) * coarse`` with ``g`` from one
            ``Conv1d(2 * head_dim, head_dim, 1)`` shared by all heads;
            Table 4c's self-gating, which the paper found worse than the
            sum), ``'mean'`` or ``'refine'`` (each query's coarse attention
            mass on the selected keys goes to their fine children).
            ``'sum_norm'`` is the default because the projection and its BN
            only ever saw coarse outputs when the model was trained
            coarse-only, and it was the one rule within seed noise of
            coarse-only on both demo sets (6 detection, 3 classification
            seeds); the plain sum lost 0.033 mAP with Kaiming-initialised
            blocks, the untrained gate 3.8 top-1 (configs/demo/README.md,
            "Stability and fine attention at test time"). The paper-model
            configs set ``'gate'`` to build the
            official layout. See ``FUSIONS``. Defaults to 'sum_norm'.
        cpe_upsample (str): How the CPE of the coarse V reaches H x W:
            ``'bilinear'`` (official code, ``align_corners=False``) or
            ``'nearest'`` (each coarse position onto its 2x2 patch).
            Defaults to 'bilinear'.
        fine_in_training (bool): Also run the fine branch in training mode.
            The paper trains coarse-only. Defaults to False.
        share_kv (bool): Share the K/V projection between coarse and fine
            attention (Table 4e). False adds a separate fine K/V conv.
            Defaults to True.
        attn (str): ``'softmax'``, ``'linear'`` (elu+1 features) or
            ``'linear_relu'`` (Table 4d). Linear variants have no attention
            matrix to select from, so they require ``topk=0``.
            Defaults to 'softmax'.
        impl (str): Kernel implementation, see
            :func:`pyramid_sparse_attention`. Defaults to 'auto'.
        pe_kernel (int): Kernel size of the depthwise CPE conv.
            Defaults to 7.
        norm_cfg (dict): Norm layer after every conv. Defaults to BN.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Attributes:
        fused_scores (bool): The kernel's ``fused_scores``: at inference the
            eq. 3 scores come from the fused log-sum-exp route. A per-module
            switch, not a build option: a FLOP counter sets it to False on
            the model it counts (:func:`~pst_mm.utils.complexity.
            count_complexity`). Defaults to True.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: Optional[int] = None,
                 topk: int = 8,
                 score_thr: float = 1e-6,
                 score: str = 'mean_prob',
                 fusion: str = 'sum_norm',
                 cpe_upsample: str = 'bilinear',
                 fine_in_training: bool = False,
                 share_kv: bool = True,
                 attn: str = 'softmax',
                 impl: str = 'auto',
                 pe_kernel: int = 7,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_heads is None:
            num_heads = max(1, embed_dims // 32)
        if embed_dims <= 0 or num_heads <= 0 or embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be a positive '
                             f'multiple of num_heads ({num_heads})')
        check_choice('attn', attn, ATTN_TYPES)
        check_choice('impl', impl, IMPLS)
        check_choice('score', score, SCORES)
        check_choice('fusion', fusion, FUSIONS)
        check_choice('cpe_upsample', cpe_upsample, CPE_UPSAMPLES)
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.attn = attn
        self.score_thr = score_thr
        self.score = score
        self.fusion = fusion
        self.cpe_upsample = cpe_upsample
        self._fine_in_training = fine_in_training  # set again below
        self.impl = impl
        self.fused_scores = True
        self.topk = topk  # validated by the property setter

        conv = dict(norm_cfg=norm_cfg, act_cfg=None)
        self.q = ConvModule(embed_dims, embed_dims, 1, **conv)
        self.kv = ConvModule(embed_dims, 2 * embed_dims, 1, **conv)
        self.kv_fine = None if share_kv else ConvModule(
            embed_dims, 2 * embed_dims, 1, **conv)
        self.pe = ConvModule(
            embed_dims,
            embed_dims,
            pe_kernel,
            padding=pe_kernel // 2,
            groups=embed_dims,
            **conv)
        self.proj = ConvModule(embed_dims, embed_dims, 1, **conv)
        head_dim = embed_dims // num_heads
        # The official gate: per token and head, cat[O_c, O_f] (2 * hd) ->
        # hd gate logits, weights shared by all heads.
        self.gate = nn.Conv1d(2 * head_dim, head_dim, 1) \
            if fusion == 'gate' else None
        self.fine_in_training = fine_in_training  # freezes fine-only parts

    @property
    def topk(self) -> int:
        """Number of selected coarse keys at inference."""
        return self._topk

    @topk.setter
    def topk(self, value: int) -> None:
        check_topk(value)
        if value > 0 and self.attn != 'softmax':
            raise ValueError(
                f"attn={self.attn!r} has no attention matrix to select fine "
                f'tokens from: fine attention needs attn=\'softmax\'; use '
                f'topk=0 (got topk={value})')
        if self.fine_in_training and self.attn != 'softmax':
            raise ValueError(f'fine_in_training needs attn=\'softmax\', got '
                             f'{self.attn!r}')
        self._topk = value

    @property
    def fine_in_training(self) -> bool:
        """Whether the fine branch also runs in training mode."""
        return self._fine_in_training

    @fine_in_training.setter
    def fine_in_training(self, value: bool) -> None:
        if value and self.attn != 'softmax':
            raise ValueError(f'fine_in_training needs attn=\'softmax\', got '
                             f'{self.attn!r}')
        self._fine_in_training = bool(value)
        # The gate and a separate fine K/V only act in the fine branch.
        # Trained coarse-only they get no gradient, and DDP (mmengine's
        # default find_unused_parameters=False) fails on parameters that get
        # none: freeze them then. They keep their initial weights, as in the
        # official code, whose gate is never trained either.
        for m in (getattr(self, 'gate', None),
                  getattr(self, 'kv_fine', None)):
            if m is not None:
                m.requires_grad_(self._fine_in_training)

    @property
    def share_kv(self) -> bool:
        return self.kv_fine is None

    def active_topk(self) -> int:
        """The top-k this forward uses: 0 in training unless fine is on."""
        if self.training and not self.fine_in_training:
            return 0
        return self.topk

    def _check(self, x: Tensor, upper: Tensor) -> None:
        check_fine_and_upper(x, upper, (self.embed_dims, ) * 2,
                             ('embed_dims', ) * 2)

    def _attend(self, x: Tensor, upper: Tensor, topk: int):
        """Project X and U and run the kernel.

        Returns:
            tuple: (PSAOutput or None for linear attention, the attention
            output (B, h, N, d), V of U as a map (B, C', Hu, Wu)).
        """
        h = self.num_heads
        q = _to_heads(self.q(x), h)
        k_map, v_map = self.kv(upper).chunk(2, dim=1)
        k, v = _to_heads(k_map, h), _to_heads(v_map, h)
        if self.attn != 'softmax':
            return None, _linear_attention(q, k, v, self.attn), v_map
        if topk > 0:
            kv_fine = self.kv if self.kv_fine is None else self.kv_fine
            kf_map, vf_map = kv_fine(x).chunk(2, dim=1)
            k_fine, v_fine = _to_heads(kf_map, h), _to_heads(vf_map, h)
        else:  # unused by the kernel when topk == 0
            k_fine, v_fine = q, q
        # the inputs were checked by forward / selection, the options at
        # build time
        parts = pyramid_sparse_attention_parts(
            q, k, v, k_fine, v_fine, tuple(x.shape[-2:]),
            tuple(upper.shape[-2:]), topk, self.score_thr, self.impl,
            self.score, selected_mass=self.fusion == 'refine',
            fused_scores=self.fused_scores, checked=True)
        return parts, parts.coarse, v_map

    @torch.no_grad()
    def selection(self, x: Tensor, upper: Tensor,
                  topk: Optional[int] = None):
        """What the kernel selects for these inputs (for analysis tools).

        Args:
            x (Tensor): Fine map X, (B, C', H, W).
            upper (Tensor): Coarse map U, (B, C', ceil(H/2), ceil(W/2)).
            topk (int, optional): Defaults to the module's ``topk``.

        Returns:
            PSAOutput: The kernel's own scores, indices and valid flags.
        """
        if self.attn != 'softmax':
            raise ValueError(f'attn={self.attn!r} selects no fine tokens')
        self._check(x, upper)
        topk = self.topk if topk is None else topk
        check_topk(topk)
        return self._attend(x, upper, max(topk, 1))[0]

    def forward(self, x: Tensor, upper: Tensor,
                checked: bool = False) -> Tensor:
        """Attend from the fine map ``x`` to the coarse map ``upper``.

        Args:
            x (Tensor): Fine map X, (B, C', H, W).
            upper (Tensor): Coarse map U, (B, C', ceil(H/2), ceil(W/2)).
            checked (bool): The caller (a :class:`PyramidSparseTransformer`)
                has already checked the inputs. Defaults to False.

        Returns:
            Tensor: (B, C', H, W).
        """
        if not checked:
            self._check(x, upper)
        H, W = x.shape[-2:]
        parts, out, v_map = self._attend(x, upper, self.active_topk())
        if parts is not None and parts.fine is not None:
            out = self.fuse(parts)
        out = _from_heads(out, (H, W))
        # CPE (eq. 6): depthwise conv on the coarse V, brought to H x W.
        pe = self.pe(v_map)
        if self.cpe_upsample == 'bilinear':
            pe = F.interpolate(
                pe, size=(H, W), mode='bilinear', align_corners=False)
        else:  # each coarse position onto exactly the 2x2 patch it covers
            # (nearest x2 == repeat_interleave(2) on both axes; exports to
            # ONNX Resize with either exporter)
            pe = F.interpolate(pe, scale_factor=2.0, mode='nearest')[
                ..., :H, :W]
        return self.proj(out + pe)

    def fuse(self, parts) -> Tensor:
        """Combine the kernel's coarse and fine outputs by ``self.fusion``.

        Args:
            parts (PSAOutput): Kernel output with ``fine`` set.

        Returns:
            Tensor: (B, h, N, d).
        """
        coarse, fine = parts.coarse, parts.fine
        if self.fusion == 'sum':
            return coarse + fine
        if self.fusion == 'sum_norm':
            total = coarse + fine
            scale = coarse.norm(dim=-1, keepdim=True) / total.norm(
                dim=-1, keepdim=True).clamp_min(torch.finfo(total.dtype).tiny)
            return total * scale
        if self.fusion == 'refine':
            return coarse - parts.sel_coarse + parts.sel_mass.unsqueeze(
                -1).to(fine.dtype) * fine
        # 'gate' and 'mean' mix the two; slices where no fine token was
        # admissible (fine == 0) keep the coarse output.
        has_fine = parts.valid.any(dim=-1)[..., None, None]
        if self.fusion == 'mean':
            mixed = 0.5 * (coarse + fine)
        else:
            w = self.gate.weight.squeeze(-1)  # Conv1d k=1 == linear per token
            g = torch.sigmoid(
                F.linear(torch.cat([coarse, fine], dim=-1), w,
                         self.gate.bias))
            mixed = g * fine + (1 - g) * coarse
        return torch.where(has_fine, mixed, coarse)


class PSABlock(BaseModule):
    """``x + PSA(x, upper)`` followed by ``x + MLP(x)``.

    The MLP is two 1x1 conv + BN layers with ratio ``mlp_ratio`` (the
    EfficientFormer style the paper follows).

    Args:
        embed_dims (int): Channels C'.
        mlp_ratio (float): Hidden width of the MLP over C'. Defaults to 2.0.
        act_cfg (dict): Activation inside the MLP. Defaults to SiLU.
        norm_cfg (dict): Norm layer. Defaults to BN.
        weight_init (str): ``'trunc_normal'`` (official code: every conv of
            the attention and the MLP from ``trunc_normal_(std=0.02)`` with
            PyTorch's default bounds of +-2, in effect a plain normal; biases
            zero) or ``'kaiming'`` (mmcv's
            ``ConvModule`` default). Re-applied by :meth:`init_weights`, so
            it also holds after an enclosing module's ``init_cfg``.
            Defaults to 'trunc_normal'.
        residual_init (float, optional): Initial scale of the BN that ends
            each residual branch (after the attention projection and after
            the MLP's last conv). ``None`` keeps the BN's own init (1, as
            the paper and the official code); ``0.0`` makes the block start
            as the identity, as mmdet's ResNet ``zero_init_residual`` does,
            but then no conv inside the branches gets a gradient until
            those scales have grown, which SGD does slowly; a small value
            such as 0.1 starts near the identity and trains the branches
            from the first step. Re-applied by :meth:`init_weights`.
            Defaults to None.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
        **attn_kwargs: Passed to :class:`PyramidSparseAttention`.
    """

    def __init__(self,
                 embed_dims: int,
                 mlp_ratio: float = 2.0,
                 act_cfg: dict = dict(type='SiLU'),
                 norm_cfg: dict = dict(type='BN'),
                 weight_init: str = 'trunc_normal',
                 residual_init: Optional[float] = None,
                 init_cfg=None,
                 **attn_kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        check_choice('weight_init', weight_init, WEIGHT_INITS)
        check_residual_init(residual_init)
        if 'zero_init_residual' in attn_kwargs:
            reject_renamed(type(self).__name__, {'zero_init_residual': None})
        self.weight_init = weight_init
        self.residual_init = residual_init
        self.attn = PyramidSparseAttention(
            embed_dims, norm_cfg=norm_cfg, **attn_kwargs)
        hidden = int(embed_dims * mlp_ratio)
        self.mlp = nn.Sequential(
            ConvModule(
                embed_dims, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(
                hidden, embed_dims, 1, norm_cfg=norm_cfg, act_cfg=None))
        self._init_convs()

    def _init_convs(self) -> None:
        if self.residual_init is not None:
            for last in (self.attn.proj, self.mlp[-1]):
                if last.with_norm:
                    nn.init.constant_(last.norm.weight, self.residual_init)
        if self.weight_init != 'trunc_normal':
            return
        for m in self.modules():
            # Conv2d only, as the official blocks: the gate Conv1d keeps
            # PyTorch's default initialisation.
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Run the children's (and ``init_cfg``'s) initialisation, then the
        block's own, which an enclosing neck's ``init_cfg`` must not undo."""
        super().init_weights()
        self._init_convs()

    def forward(self, x: Tensor, upper: Tensor,
                checked: bool = False) -> Tensor:
        """``x``: (B, C', H, W); ``upper``: (B, C', ceil(H/2), ceil(W/2));
        ``checked``: the caller has already checked them (see
        :meth:`PyramidSparseAttention.forward`)."""
        x = x + self.attn(x, upper, checked=checked)
        return x + self.mlp(x)


class PyramidSparseTransformer(BaseModule):
    """The PST module (paper Fig. 2, left).

    ::

        x (C, H, W) ──1x1──> y0 (C') ─PSA block─> y1 ─ ... ─> yn
                                           ^            ^
        upper (C_up, H/2, W/2) ──1x1──> u (C') ──── K/V of every block
        out = 1x1( concat[y0, y1, ..., yn] ) -> (out_channels, H, W)

    Each block's query is the previous block's output while K/V stay the
    upper feature (Table 4b). The output conv reads ``concat[y0 = in_conv(x),
    y1, ..., yn]`` as the authors' code does (``concat_input='embed'``); the
    paper's parameter formula implies ``concat[x, y1, ..., yn]``
    (``concat_input='raw'``). The token width defaults to the official
    ``C' = int(out_channels * expand_ratio)``.

    Args:
        in_channels (int): Channels C of the fine input X.
        upper_channels (int): Channels C_up of the coarse input U.
        out_channels (int): Output channels.
        embed_channels (int, optional): Token width C'; None means
            ``int(out_channels * expand_ratio)``. Defaults to None.
        expand_ratio (float): C' over ``out_channels`` when
            ``embed_channels`` is None (official ``e``). Defaults to 0.5.
        num_blocks (int): Stacked PSA blocks. Defaults to 1.
        mlp_ratio (float): MLP ratio of each block. Defaults to 2.0.
        concat_input (str): What the output conv reads besides the blocks'
            outputs: ``'embed'`` (``in_conv(x)``, official) or ``'raw'``
            (``x``, paper). Defaults to 'embed'.
        weight_init (str): Initialisation of the blocks' convs, see
            :class:`PSABlock`. Defaults to 'trunc_normal'.
        residual_init (float, optional): Initial scale of the BNs ending
            the blocks' residual branches, see :class:`PSABlock`.
            Defaults to None.
        conv_init (str): Initialisation of the input, upper and output
            convs: ``'kaiming'`` (mmcv's ``ConvModule``) or ``'pytorch'``
            (PyTorch's default, as the official code's ``Conv``;
            :class:`~pst_mm.models.layers.yolo_blocks.YOLOConv`).
            Defaults to 'kaiming'.
        norm_cfg (dict): Norm layer (the official detectors use
            ``dict(type='BN', eps=1e-3, momentum=0.03)``). Defaults to BN.
        act_cfg (dict): Activation of the input/output convs and MLPs.
            Defaults to SiLU.
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.
        **attn_kwargs: Passed to every :class:`PyramidSparseAttention`
            (``num_heads``, ``topk``, ``score_thr``, ``score``, ``fusion``,
            ``cpe_upsample``, ``fine_in_training``, ``share_kv``, ``attn``,
            ``impl``).
    """

    def __init__(self,
                 in_channels: int,
                 upper_channels: int,
                 out_channels: int,
                 embed_channels: Optional[int] = None,
                 expand_ratio: float = 0.5,
                 num_blocks: int = 1,
                 mlp_ratio: float = 2.0,
                 concat_input: str = 'embed',
                 weight_init: str = 'trunc_normal',
                 residual_init: Optional[float] = None,
                 conv_init: str = 'kaiming',
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='SiLU'),
                 init_cfg=None,
                 **attn_kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        check_choice('conv_init', conv_init, CONV_INITS)
        if num_blocks < 1:
            raise ValueError(f'num_blocks must be >= 1, got {num_blocks}')
        check_choice('concat_input', concat_input, CONCAT_INPUTS)
        if embed_channels is None:
            if not isinstance(expand_ratio, (int, float)) or \
                    expand_ratio <= 0:
                raise ValueError(f'expand_ratio must be > 0, got '
                                 f'{expand_ratio!r}')
            embed_channels = int(out_channels * expand_ratio)
        check_positive_ints(
            'PyramidSparseTransformer',
            in_channels=in_channels,
            upper_channels=upper_channels,
            out_channels=out_channels,
            embed_channels=embed_channels)
        self.in_channels = in_channels
        self.upper_channels = upper_channels
        self.out_channels = out_channels
        self.embed_channels = embed_channels
        self.concat_input = concat_input
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        Conv = YOLOConv if conv_init == 'pytorch' else ConvModule
        self.in_conv = Conv(in_channels, embed_channels, 1, **conv)
        self.upper_conv = Conv(upper_channels, embed_channels, 1, **conv)
        # mmengine's ModuleList passes init_weights on to the blocks, whose
        # trunc-normal init must run after an enclosing init_cfg.
        self.blocks = ModuleList(
            PSABlock(
                embed_channels,
                mlp_ratio=mlp_ratio,
                act_cfg=act_cfg,
                norm_cfg=norm_cfg,
                weight_init=weight_init,
                residual_init=residual_init,
                **attn_kwargs) for _ in range(num_blocks))
        first = embed_channels if concat_input == 'embed' else in_channels
        self.out_conv = Conv(first + num_blocks * embed_channels,
                             out_channels, 1, **conv)

    def attentions(self) -> Iterator[PyramidSparseAttention]:
        for block in self.blocks:
            yield block.attn

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # mmengine loads checkpoints with strict=False, which only warns on
        # a shape mismatch and keeps random weights: a checkpoint of another
        # PST layout must fail here instead.
        raise_on_shape_mismatch(
            self, state_dict, prefix,
            'the checkpoint was trained with another PST layout (token width '
            'embed_channels/expand_ratio, concat_input, num_blocks, '
            'num_heads or share_kv)')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: Tensor, upper: Tensor,
                checked: bool = False) -> Tensor:
        """
        Args:
            x (Tensor): Fine map, (B, C, H, W).
            upper (Tensor): Coarse map, (B, C_up, ceil(H/2), ceil(W/2)).
            checked (bool): The caller (a neck) has already checked the
                inputs. Defaults to False.

        Returns:
            Tensor: (B, out_channels, H, W).
        """
        if not checked:
            check_fine_and_upper(x, upper,
                                 (self.in_channels, self.upper_channels),
                                 ('in_channels', 'upper_channels'))
        u = self.upper_conv(upper)
        y = self.in_conv(x)
        outs: List[Tensor] = [y if self.concat_input == 'embed' else x]
        for block in self.blocks:
            # the 1x1 convs keep the checked grids and batch
            y = block(y, u, checked=True)
            outs.append(y)
        return self.out_conv(torch.cat(outs, dim=1))


def _keyword_defaults(fn, exclude: Sequence[str]) -> Dict[str, Any]:
    """The keyword arguments of ``fn`` that have a default, but ``exclude``.
    """
    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if p.default is not p.empty and name not in exclude
    }


#: Every option a neck's ``pst_cfg`` may hold, with the defaults of
#: :class:`PyramidSparseTransformer` and :class:`PyramidSparseAttention`
#: (read from their signatures: those are the one place the defaults live).
#: Left out are what the neck itself sets: the channels, the token width C'
#: (the neck's ``embed_channels``), ``norm_cfg``/``act_cfg`` (shared with the
#: neck's own convs) and ``init_cfg``.
PST_CFG_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    **_keyword_defaults(
        PyramidSparseTransformer.__init__,
        ('embed_channels', 'expand_ratio', 'norm_cfg', 'act_cfg', 'init_cfg')),
    **_keyword_defaults(PyramidSparseAttention.__init__,
                        ('norm_cfg', 'init_cfg'))
})

# Why a key is not a pst_cfg option, where it has a better answer than the
# list of allowed keys.
_NOT_PST_CFG = MappingProxyType({
    'embed_channels': "C' is the neck's own embed_channels",
    'expand_ratio': "C' is the neck's own embed_channels",
    'norm_cfg': "the neck's own norm_cfg",
    'act_cfg': "the neck's own act_cfg",
    **RENAMED
})


class PSTConfigMixin:
    """For a module (a neck) that builds its PSTs from one ``pst_cfg`` dict.

    A subclass lists its own defaults in :attr:`pst_defaults` and the
    arguments it no longer takes in :attr:`removed_args`, and calls
    :meth:`resolve_pst_cfg` once in ``__init__``.
    """

    #: The class's defaults over :data:`PST_CFG_DEFAULTS` (read-only).
    pst_defaults: Mapping[str, Any] = MappingProxyType({})
    #: Arguments the class no longer takes: name -> what replaced it.
    removed_args: Mapping[str, str] = MappingProxyType({})

    def resolve_pst_cfg(self, pst_cfg: Optional[Mapping[str, Any]],
                        kwargs: Mapping[str, Any],
                        **computed) -> Dict[str, Any]:
        """Validate ``pst_cfg`` and return every PST option.

        Args:
            pst_cfg (Mapping, optional): The user's options.
            kwargs (Mapping): The constructor's left-over keyword arguments:
                a PST option given there (the old spelling), a removed
                argument or any other raises a ``TypeError`` that names the
                new spelling.
            **computed: Defaults the class computes at build time (e.g. the
                block count of a YOLO scale), over :attr:`pst_defaults`.

        Returns:
            dict: :data:`PST_CFG_DEFAULTS`, then :attr:`pst_defaults`, then
            ``computed``, then ``pst_cfg``.
        """
        owner = type(self).__name__
        moved = {k: f'{k!r} is now pst_cfg=dict({k}=...)'
                 for k in PST_CFG_DEFAULTS}
        moved['zero_init_residual'] = (
            'zero_init_residual was replaced by pst_cfg=dict(residual_init='
            '...) (zero_init_residual=True is residual_init=0.0)')
        reject_renamed(owner, kwargs, {**moved, **self.removed_args})
        pst_cfg = dict(pst_cfg or {})
        for key in pst_cfg:
            if key not in PST_CFG_DEFAULTS:
                why = f' ({_NOT_PST_CFG[key]})' if key in _NOT_PST_CFG else ''
                raise ValueError(
                    f'{owner}: unknown pst_cfg key {key!r}{why}; allowed '
                    f'keys: {", ".join(sorted(PST_CFG_DEFAULTS))}')
        return {
            **PST_CFG_DEFAULTS,
            **self.pst_defaults,
            **computed,
            **pst_cfg
        }

    @property
    def topk(self) -> int:
        """Fine-attention top-k of the module's PSTs (0 without any)."""
        for m in self.modules():
            if isinstance(m, PyramidSparseAttention):
                return m.topk
        return 0


def set_pst_topk(model: nn.Module, topk: int) -> int:
    """Set ``topk`` on every :class:`PyramidSparseAttention` in ``model``.

    Returns:
        int: How many attention modules were changed.
    """
    count = 0
    for m in model.modules():
        if isinstance(m, PyramidSparseAttention):
            m.topk = topk
            count += 1
    return count
