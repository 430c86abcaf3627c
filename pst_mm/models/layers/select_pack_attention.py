# Copyright (c) pst-mm contributors. All rights reserved.
"""Select-and-Pack Attention (SPA) core: token selection and packed attention.

Plain PyTorch, no registry. From "Enhancing Vision Transformers for Object
Detection via Context-Aware Token Selection and Packing" (Zhang et al.,
arXiv 2410.23608), Sec. 3.2:

* :func:`select_tokens` turns gate logits into a hard selection (threshold
  on the sigmoid scale) with a straight-through weight;
* :func:`pack_tokens` lays the selected tokens of a batch out in
  containers of ``L`` slots (image-major; only the last container padded,
  or with ``pack_per_image=True`` each image starting a new container);
* :func:`packed_attention` runs ``F.scaled_dot_product_attention`` over the
  containers with a boolean block mask: a token attends only to tokens of
  its container with the same group id (the image, or the image and its
  shifted-window region);
* :func:`select_pack_attention` composes them: qkv projection on the
  selected tokens only, attention in containers, output projection,
  scattered back (unselected tokens get zeros).

The tests compare :func:`select_pack_attention` against a slow, obviously
correct loop over (container, group) segments
(``tests/test_models/test_layers/spt_reference.py``).
"""
from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import check_choice, check_positive_ints

NOISE_TYPES = ('logistic', 'gumbel', 'none')


def check_select_threshold(select_thr: float) -> None:
    """Raise ``ValueError`` unless ``0 < select_thr < 1`` (a probability:
    a token is kept when its sigmoid score exceeds it)."""
    if isinstance(select_thr, bool) or not isinstance(
            select_thr, (int, float)) or not 0 < select_thr < 1:
        raise ValueError('select_thr must be a float in the open interval '
                         f'(0, 1), got {select_thr!r}')


def check_container_len(container_len: int, window_size: int) -> None:
    """Raise ``ValueError`` unless ``container_len`` is a positive square
    of ``window_size`` (the paper sets ``L = M**2``, Sec. 3.2)."""
    check_positive_ints('SPA', window_size=window_size)
    if isinstance(container_len, bool) or not isinstance(
            container_len, int) or container_len != window_size**2:
        raise ValueError(
            f'container_len must equal window_size**2 = {window_size**2} '
            f'(window_size={window_size}), got {container_len!r}')


def select_tokens(logits: Tensor,
                  select_thr: float = 0.01,
                  training: bool = False,
                  noise: str = 'logistic',
                  tau: float = 1.0) -> Tuple[Tensor, Tensor]:
    """Hard token selection with a straight-through weight.

    In training ``y = sigmoid((s + n) / tau)`` with noise ``n``; a token is
    selected when ``y > select_thr``, and the returned weight is
    ``hard - y.detach() + y`` (value 1 on selected tokens, gradient of
    ``y``). ``'logistic'`` noise (the difference of two Gumbel(0, 1)
    draws) makes this exactly the two-class Gumbel-Softmax over
    ``{s, 0}`` the paper names (App. A), zero-mean, so training and eval
    keep the same share of tokens on average. ``'gumbel'`` is the single
    Gumbel draw of the author's earlier code (mean +0.577: training keeps
    more tokens than eval). At inference (``training=False``) there is
    never noise: ``sigmoid(s) > select_thr``.

    Args:
        logits (Tensor): Gate logits ``s`` of any shape.
        select_thr (float): Threshold on the sigmoid scale, in (0, 1).
            Defaults to 0.01 (paper, Sec. 4.1).
        training (bool): Add noise and build the straight-through weight.
            Defaults to False.
        noise (str): ``'logistic'``, ``'gumbel'`` or ``'none'``. Defaults
            to ``'logistic'``.
        tau (float): Temperature. Defaults to 1.0.

    Returns:
        tuple[Tensor, Tensor]: Boolean selection and the float weight (the
        straight-through weight in training, the selection as float at
        inference), both shaped like ``logits``.
    """
    check_select_threshold(select_thr)
    check_choice('noise', noise, NOISE_TYPES)
    if not tau > 0:
        raise ValueError(f'tau must be positive, got {tau!r}')
    if not training:
        sel = torch.sigmoid(logits) > select_thr
        return sel, sel.to(logits.dtype)
    s = logits
    if noise != 'none':
        u = torch.rand_like(logits).clamp_(1e-6, 1 - 1e-6)
        if noise == 'logistic':
            s = s + (torch.log(u) - torch.log1p(-u))
        else:
            s = s - torch.log(-torch.log(u))
    y = torch.sigmoid(s / tau)
    sel = y > select_thr
    return sel, sel.to(y.dtype) - y.detach() + y


class PackIndex(NamedTuple):
    """Where the selected tokens go.

    Attributes:
        token_idx (Tensor): ``(T,)`` flat indices (into ``B * N``) of the
            selected tokens, image-major, in token order within an image.
        slot_idx (Tensor): ``(T,)`` flat slot (into ``B' * L``) of each.
        num_containers (int): ``B'``.
        container_len (int): ``L``.
    """
    token_idx: Tensor
    slot_idx: Tensor
    num_containers: int
    container_len: int


def pack_tokens(sel: Tensor,
                container_len: int,
                pack_per_image: bool = False) -> PackIndex:
    """Lay the selected tokens out in containers of ``container_len``.

    Args:
        sel (Tensor): ``(B, N)`` boolean selection.
        container_len (int): Slots per container ``L``.
        pack_per_image (bool): Start every image in a new container, so an
            image's output never depends on the other images of the batch
            (at most one padded container per image). Defaults to False
            (the paper: only the last container of the batch is padded).

    Returns:
        PackIndex: Token and slot indices and the container count.
    """
    check_positive_ints('pack_tokens', container_len=container_len)
    if sel.dim() != 2:
        raise ValueError(f'sel must be (B, N), got {tuple(sel.shape)}')
    B, N = sel.shape
    token_idx = sel.reshape(-1).nonzero().squeeze(1)
    T = token_idx.numel()
    if not pack_per_image:
        slot_idx = torch.arange(T, device=sel.device)
        return PackIndex(token_idx, slot_idx, -(-T // container_len),
                         container_len)
    counts = sel.sum(1)
    containers = (counts + container_len - 1) // container_len
    start = (torch.cumsum(containers, 0) - containers) * container_len
    first = torch.cumsum(counts, 0) - counts  # rank offset of each image
    img = token_idx // N
    rank = torch.arange(T, device=sel.device) - first[img]
    slot_idx = start[img] + rank
    return PackIndex(token_idx, slot_idx, int(containers.sum()),
                     container_len)


def packed_attention(q: Tensor,
                     k: Tensor,
                     v: Tensor,
                     group: Tensor,
                     bias: Optional[Tensor] = None,
                     scale: Optional[float] = None) -> Tensor:
    """Attention inside containers, only between slots of the same group.

    Pad slots carry group ``-1``: they attend to each other, so no row is
    ever fully masked (no NaN) and their outputs are discarded.

    Args:
        q, k, v (Tensor): ``(B', heads, L, d)``.
        group (Tensor): ``(B', L)`` integer group id per slot.
        bias (Tensor, optional): ``(B', heads, L, L)`` additive bias
            (relative positions). Defaults to None.
        scale (float, optional): Softmax scale. Defaults to ``d ** -0.5``.

    Returns:
        Tensor: ``(B', heads, L, d)``.
    """
    allowed = (group[:, :, None] == group[:, None, :]).unsqueeze(1)
    if bias is None:
        mask = allowed
    else:
        mask = bias.masked_fill(~allowed, float('-inf'))
    # On CUDA in half precision the cuDNN backend re-plans for every new
    # container count B' (measured on an H100 in bf16: up to 275 ms, median
    # 1.17 ms against 0.69 ms with this kernel): pin the memory-efficient
    # kernel there.
    if q.is_cuda and q.dtype in (torch.float16, torch.bfloat16):
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION]):
            return F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, scale=scale)
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, scale=scale)


def relative_position_bias(coords: Tensor, table: Tensor,
                           window_size: int) -> Tensor:
    """Swin's relative-position bias for arbitrary token positions.

    The offset between two tokens is clipped to ``+-(window_size - 1)`` per
    axis and looked up in Swin's ``(2M-1)**2 x heads`` table with Swin's
    index convention, so tokens of one raster window get exactly Swin's
    bias.

    Args:
        coords (Tensor): ``(B', L, 2)`` integer (y, x) of every slot.
        table (Tensor): ``((2M-1)**2, heads)`` bias table.
        window_size (int): ``M``.

    Returns:
        Tensor: ``(B', heads, L, L)``.
    """
    M = window_size
    d = (coords[:, :, None, :] - coords[:, None, :, :]).clamp(-(M - 1), M - 1)
    idx = (d[..., 0] + M - 1) * (2 * M - 1) + (d[..., 1] + M - 1)
    return table[idx].permute(0, 3, 1, 2)


def select_pack_attention(x: Tensor,
                          sel: Tensor,
                          group: Tensor,
                          qkv_weight: Tensor,
                          qkv_bias: Optional[Tensor],
                          proj_weight: Tensor,
                          proj_bias: Optional[Tensor],
                          num_heads: int,
                          container_len: int,
                          pack_per_image: bool = False,
                          scale: Optional[float] = None,
                          coords: Optional[Tensor] = None,
                          bias_table: Optional[Tensor] = None,
                          window_size: Optional[int] = None) -> Tensor:
    """Multi-head self-attention of the selected tokens, packed.

    The qkv and output projections run on the ``T`` selected tokens only;
    unselected tokens get zero output (they skip attention).

    Args:
        x (Tensor): ``(B, N, C)`` tokens (already normed and gated).
        sel (Tensor): ``(B, N)`` boolean selection.
        group (Tensor): ``(B, N)`` non-negative integer group ids: tokens
            attend only to tokens of the same group in their container.
            Use a different id per image (and per shifted-window region).
        qkv_weight, qkv_bias (Tensor): ``(3C, C)``, ``(3C,)`` or None.
        proj_weight, proj_bias (Tensor): ``(C, C)``, ``(C,)`` or None.
        num_heads (int): Attention heads.
        container_len (int): Container length ``L``.
        pack_per_image (bool): See :func:`pack_tokens`. Defaults to False.
        scale (float, optional): Softmax scale. Defaults to
            ``(C / num_heads) ** -0.5``.
        coords (Tensor, optional): ``(B, N, 2)`` integer (y, x) positions
            for the relative-position bias. Defaults to None (no bias).
        bias_table (Tensor, optional): Swin's bias table; used with
            ``coords``. Defaults to None.
        window_size (int, optional): ``M`` for the bias clip. Defaults to
            None.

    Returns:
        Tensor: ``(B, N, C)``, zeros at unselected tokens.
    """
    B, N, C = x.shape
    if C % num_heads:
        raise ValueError(f'embed dims {C} not divisible by num_heads '
                         f'{num_heads}')
    out = x.new_zeros(B * N, C)
    index = pack_tokens(sel, container_len, pack_per_image)
    T, Bp, L = index.token_idx.numel(), index.num_containers, container_len
    if T == 0:  # nothing selected anywhere: attention skipped
        return out.view(B, N, C)
    flat = x.reshape(B * N, C)
    qkv = F.linear(flat.index_select(0, index.token_idx), qkv_weight,
                   qkv_bias)
    # Scatter into contiguous packed buffers (SDPA on CPU takes its slow
    # math path on strided views).
    packed = qkv.new_zeros(Bp * L, 3 * C).index_copy(0, index.slot_idx, qkv)
    packed = packed.view(Bp, L, 3, num_heads, C // num_heads)
    q, k, v = (packed[:, :, i].transpose(1, 2).contiguous() for i in range(3))
    slot_group = group.new_full((Bp * L, ), -1).index_copy(
        0, index.slot_idx,
        group.reshape(-1).index_select(0, index.token_idx)).view(Bp, L)
    bias = None
    if coords is not None and bias_table is not None:
        slot_xy = coords.new_zeros(Bp * L, 2).index_copy(
            0, index.slot_idx,
            coords.reshape(-1, 2).index_select(0, index.token_idx))
        bias = relative_position_bias(
            slot_xy.view(Bp, L, 2), bias_table, window_size).to(q.dtype)
    o = packed_attention(q, k, v, slot_group, bias, scale)
    o = o.transpose(1, 2).reshape(Bp * L, C).index_select(0, index.slot_idx)
    o = F.linear(o, proj_weight, proj_bias)
    # index_copy needs one dtype (autocast may have produced bf16).
    return out.to(o.dtype).index_copy(0, index.token_idx, o).view(B, N, C)


__all__ = [
    'NOISE_TYPES', 'PackIndex', 'check_container_len',
    'check_select_threshold', 'pack_tokens', 'packed_attention',
    'relative_position_bias', 'select_pack_attention', 'select_tokens'
]
