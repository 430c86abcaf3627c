# Copyright (c) pst-mm contributors. All rights reserved.
"""Functional Pyramid Sparse Attention kernel (PST paper, Sec. 3.1).

Plain PyTorch, no registry: every module and test calls
:func:`pyramid_sparse_attention` (or :func:`pyramid_sparse_attention_parts`
when the coarse and fine outputs or the selection are needed separately).
"""
import math
import warnings
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import check_choice, check_topk

# 'triton': the 'sdpa' path whose eq. 3 scores come from the Triton kernel of
# psa_triton.py (falls back to the portable route, with one log line, where
# that kernel cannot run). 'auto' picks 'triton' on CUDA, 'sdpa' elsewhere.
IMPLS = ('naive', 'sdpa', 'triton', 'auto')
# 'mean_prob': paper eq. 3, the mean over queries of the softmax probabilities;
# 'mean_logit': the official code's rule, the mean over queries of the scaled
# logits (equal to ``mean(q) . k_j / sqrt(d)``).
SCORES = ('mean_prob', 'mean_logit')

# Selection scores are accumulated over query chunks so that the extra memory
# is O(chunk * M) instead of O(N * M): one chunk of logits holds at most 2**22
# float32 elements (16 MiB) over all samples and heads, which still keeps the
# matmuls large enough to run at full speed.
_SCORE_CHUNK_ELEMS = 1 << 22


class PSAOutput(NamedTuple):
    """Everything :func:`pyramid_sparse_attention_parts` computes.

    Attributes:
        coarse (Tensor): ``softmax(q k^T / sqrt(d)) v``, shape (B, h, N, d).
        fine (Tensor | None): sparse fine attention output, shape
            (B, h, N, d); zeros where no coarse key passed the threshold.
            ``None`` when ``topk == 0``.
        scores (Tensor | None): eq. 3 selection scores, the mean over the N
            queries of the coarse softmax probabilities, shape (B, h, M).
            ``None`` when ``topk == 0``.
        indices (Tensor | None): the selected coarse indices (row-major in
            the Hu x Wu grid) in descending score order, shape (B, h, k')
            with ``k' = min(topk, M)``. ``None`` when ``topk == 0``.
        valid (Tensor | None): bool (B, h, k'), which selected indices passed
            ``score > score_thr`` (all True for ``'mean_logit'`` scores).
            ``None`` when ``topk == 0``.
        sel_mass (Tensor | None): float32 (B, h, N), the coarse attention
            mass ``sum_{j valid} A_ij`` of each query on the valid selected
            keys. Only with ``selected_mass=True``.
        sel_coarse (Tensor | None): (B, h, N, d), the part of ``coarse`` that
            comes from those keys, ``sum_{j valid} A_ij v_j``. Only with
            ``selected_mass=True``.
    """
    coarse: Tensor
    fine: Optional[Tensor]
    scores: Optional[Tensor]
    indices: Optional[Tensor]
    valid: Optional[Tensor]
    sel_mass: Optional[Tensor] = None
    sel_coarse: Optional[Tensor] = None


def _check_inputs(q: Tensor, k: Tensor, v: Tensor, k_fine: Tensor,
                  v_fine: Tensor, fine_hw: Sequence[int],
                  coarse_hw: Sequence[int], topk: int, impl: str,
                  score: str) -> None:
    check_choice('impl', impl, IMPLS)
    check_choice('score', score, SCORES)
    check_topk(topk)
    names = ('q', 'k', 'v', 'k_fine', 'v_fine')
    tensors = (q, k, v, k_fine, v_fine)
    for name, t in zip(names, tensors):
        if not isinstance(t, Tensor) or t.dim() != 4:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t)
            raise ValueError(
                f'{name} must be a 4-D tensor (B, heads, tokens, dim), '
                f'got {shape}')
    B, h, N, d = q.shape
    for name, t in zip(names[1:], tensors[1:]):
        if (t.shape[0], t.shape[1], t.shape[3]) != (B, h, d):
            raise ValueError(
                f'{name} has (batch, heads, dim) = '
                f'{(t.shape[0], t.shape[1], t.shape[3])}, but q has '
                f'{(B, h, d)}')
    if k.shape != v.shape:
        raise ValueError(f'k {tuple(k.shape)} and v {tuple(v.shape)} differ')
    if k_fine.shape != q.shape or v_fine.shape != q.shape:
        raise ValueError(
            f'k_fine {tuple(k_fine.shape)} and v_fine {tuple(v_fine.shape)} '
            f'must have the shape of q {tuple(q.shape)}')
    H, W = (int(x) for x in fine_hw)
    Hu, Wu = (int(x) for x in coarse_hw)
    if N != H * W:
        raise ValueError(f'q has N={N} tokens but fine_hw={H}x{W}={H * W}')
    M = k.shape[2]
    if M != Hu * Wu:
        raise ValueError(
            f'k/v have M={M} tokens but coarse_hw={Hu}x{Wu}={Hu * Wu}')
    if (Hu, Wu) != ((H + 1) // 2, (W + 1) // 2):
        raise ValueError(
            f'coarse_hw must be (ceil(H/2), ceil(W/2)) = '
            f'{((H + 1) // 2, (W + 1) // 2)} for fine_hw {(H, W)}, '
            f'got {(Hu, Wu)}')


def _resolve_impl(impl: str, device: torch.device) -> str:
    # ONNX export: only standard ops (matmul, softmax, TopK, Gather), no
    # private fused kernels; the runtime fuses what it can.
    if torch.onnx.is_in_onnx_export():
        return 'naive'
    if impl != 'auto':
        return impl
    # SDPA never materialises the N x M attention matrix, and dispatches to
    # FlashAttention / memory-efficient kernels on CUDA and to a fused flash
    # kernel on CPU, where it is 7x faster than explicit matmul + softmax at
    # the paper's scale (tools/analysis_tools/psa_kernel_benchmark.py). On
    # CUDA the eq. 3 scores come from the Triton kernel.
    return 'triton' if device.type == 'cuda' else 'sdpa'


def _log_fallback_once(reason: str) -> None:
    """Warn that the Triton kernel was not used, and why.

    A ``RuntimeWarning`` rather than a log line: Python's warning filters
    (``'default'``) already show each distinct reason once, so pst-mm keeps
    no module-level record of what it has reported.
    """
    if torch.compiler.is_compiling():
        return
    warnings.warn(
        f'PSA: Triton selection-score kernel unavailable ({reason}); using '
        'the portable score path', RuntimeWarning)


def _triton_scores(q: Tensor, k: Tensor, lse: Tensor,
                   scale: float) -> Optional[Tensor]:
    """Eq. 3 scores from the Triton kernel, or None (logged once) where it
    cannot run on these inputs."""
    try:
        from . import psa_triton
    except ImportError as e:  # pragma: no cover - broken Triton install
        _log_fallback_once(f'cannot import it: {e}')
        return None
    reason = psa_triton.triton_unsupported(q, k)
    if reason is not None:
        _log_fallback_once(reason)
        return None
    return psa_triton.triton_selection_scores(q, k, lse, scale)


def _chunked_stats(q: Tensor, k: Tensor, scale: float,
                   want_scores: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Log-sum-exp and eq. 3 scores without holding the N x M matrix.

    Returns ``LSE_i = logsumexp_j(q_i.k_j * scale)`` (float32, (B, h, N);
    differentiable when q and k are) and, with ``want_scores``, the mean
    over queries of ``softmax(q k^T * scale)`` ((B, h, M), no gradient),
    accumulated in float32 over query chunks.
    """
    B, h, N, _ = q.shape
    M = k.shape[2]
    chunk = max(1, _SCORE_CHUNK_ELEMS // max(1, B * h * M))
    scores = q.new_zeros((B, h, M), dtype=torch.float32) \
        if want_scores else None
    kt = k.transpose(-2, -1)
    lses = []
    for start in range(0, N, chunk):
        logits = torch.matmul(q[:, :, start:start + chunk], kt).float() * scale
        lse = torch.logsumexp(logits, dim=-1)
        lses.append(lse)
        if want_scores:
            with torch.no_grad():
                scores += torch.exp(logits - lse.unsqueeze(-1)).sum(dim=-2)
        del logits
    return torch.cat(lses, dim=-1), (
        scores.div_(N) if want_scores else None)


def _mean_logit_scores(q: Tensor, k: Tensor, scale: float) -> Tensor:
    """Official selection rule: ``mean_i(q_i . k_j) * scale`` per head,
    computed as ``mean(q) . k_j * scale`` (float32, (B, h, M))."""
    with torch.no_grad():
        q_mean = q.float().mean(dim=-2, keepdim=True)
        return torch.matmul(q_mean, k.float().transpose(-2, -1)).squeeze(
            -2).mul_(scale)


def _fused_attention_lse(q: Tensor, k: Tensor, v: Tensor,
                         scale: float) -> Optional[Tuple[Tensor, Tensor]]:
    """``(softmax(q k^T * scale) v, logsumexp_j(q k^T * scale))`` from one
    fused kernel, or None where no private fused kernel returns the LSE.

    Only for inference: these private ops are called without autograd.
    """
    try:
        if q.device.type == 'cpu':
            out, lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(  # noqa: E501
                q, k, v, 0.0, False, attn_mask=None, scale=scale)
        elif q.device.type == 'cuda':
            out, lse = torch.ops.aten._scaled_dot_product_efficient_attention(
                q, k, v, None, True, scale=scale)[:2]
        else:
            return None
    except (AttributeError, RuntimeError, TypeError):
        return None
    return out, lse[..., :q.shape[-2]].float()


def _selection_scores_from_lse(q: Tensor, k: Tensor, lse: Tensor,
                               scale: float) -> Optional[Tensor]:
    """Exact eq. 3 scores with O(N + M) memory.

    ``N * s_j = sum_i exp(q_i.k_j * scale - LSE_i)``: a second fused pass
    with the keys as queries, the queries as keys and ``-LSE_i`` folded in
    as an extra dimension returns ``log(N * s_j)`` as its log-sum-exp.
    Returns None where the fused kernel is unavailable.
    """
    N, d = q.shape[-2], q.shape[-1]
    # fp32: -LSE_i / scale must not lose precision in half-precision inputs
    q, k = q.float(), k.float()
    # zero padding keeps dot products and lets CUDA kernels use aligned dims
    pad = (-(d + 1)) % 8
    queries = torch.cat(
        [k, k.new_ones(*k.shape[:-1], 1),
         k.new_zeros(*k.shape[:-1], pad)], -1)
    keys = torch.cat([
        q, (-lse / scale).unsqueeze(-1),
        q.new_zeros(*q.shape[:-1], pad)
    ], -1)
    # values are unused; the CPU kernel wants the head size of the keys
    res = _fused_attention_lse(queries, keys, keys, scale)
    if res is None:
        return None
    return torch.exp(res[1] - math.log(N))


def _fine_token_index(indices: Tensor, valid: Tensor, fine_hw: Tuple[int, int],
                      coarse_w: int) -> Tuple[Tensor, Tensor]:
    """Map selected coarse indices to the fine 2x2 patches beneath them.

    Coarse index (r, c) covers fine rows 2r, 2r+1 and cols 2c, 2c+1. Fine
    positions that fall outside X (odd H or W) are marked invalid instead of
    being wrapped or clamped onto a neighbour.

    Returns:
        tuple[Tensor, Tensor]: flat fine indices (B, h, 4k') (0 where
        invalid, to be masked) and the bool mask (B, h, 4k').
    """
    H, W = fine_hw
    r = torch.div(indices, coarse_w, rounding_mode='floor')
    c = indices - r * coarse_w
    # (0, 0, 1, 1) and (0, 1, 0, 1), built on the device: a host tensor
    # here would be a host-to-device copy, which CUDA graphs cannot capture
    quad = torch.arange(4, device=indices.device)
    dr = torch.div(quad, 2, rounding_mode='floor')
    dc = quad - 2 * dr
    rows = (2 * r).unsqueeze(-1) + dr  # (B, h, k', 4)
    cols = (2 * c).unsqueeze(-1) + dc
    mask = valid.unsqueeze(-1) & (rows < H) & (cols < W)
    flat = torch.where(mask, rows * W + cols, torch.zeros_like(rows))
    return flat.flatten(-2), mask.flatten(-2)


def pyramid_sparse_attention_parts(q: Tensor,
                                   k: Tensor,
                                   v: Tensor,
                                   k_fine: Tensor,
                                   v_fine: Tensor,
                                   fine_hw: Sequence[int],
                                   coarse_hw: Sequence[int],
                                   topk: int,
                                   score_thr: float = 1e-6,
                                   impl: str = 'auto',
                                   score: str = 'mean_prob',
                                   selected_mass: bool = False,
                                   fused_scores: bool = True,
                                   checked: bool = False) -> PSAOutput:
    """Pyramid Sparse Attention returning the coarse and fine parts.

    See :func:`pyramid_sparse_attention` for the other arguments. The
    selection (top-k of the selection scores) carries no gradient: it only
    picks indices.

    Args:
        selected_mass (bool): Also return ``sel_mass`` and ``sel_coarse``
            (see :class:`PSAOutput`), which the ``'refine'`` fusion needs.
            They cost one ``N x k`` logit pass. Defaults to False.
        checked (bool): The caller has already validated every argument
            (:class:`PyramidSparseAttention` checks its inputs and options
            once, at its own boundary), so they are not checked again.
            Defaults to False.
    """
    if not checked:
        _check_inputs(q, k, v, k_fine, v_fine, fine_hw, coarse_hw, topk,
                      impl, score)
    impl = _resolve_impl(impl, q.device)
    H, W = (int(x) for x in fine_hw)
    Wu = int(coarse_hw[1])
    d = q.shape[-1]
    N, M = q.shape[2], k.shape[2]
    scale = 1.0 / math.sqrt(d)
    selected_mass = selected_mass and topk > 0
    prob_scores = topk > 0 and score == 'mean_prob'

    scores = attn = lse = None
    if impl == 'naive':
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, -1)
        coarse = torch.matmul(attn, v)
        if prob_scores:
            scores = attn.detach().float().mean(dim=-2)
        if not selected_mass:
            attn = None
    else:
        coarse = None
        grad = torch.is_grad_enabled() and any(
            t.requires_grad for t in (q, k, v))
        if (prob_scores or selected_mass) and fused_scores and not grad:
            fused = _fused_attention_lse(q, k, v, scale)
            if fused is not None:
                coarse, lse = fused
                if prob_scores and impl == 'triton':
                    scores = _triton_scores(q, k, lse, scale)
                if prob_scores and scores is None:
                    scores = _selection_scores_from_lse(q, k, lse, scale)
        if coarse is None:
            coarse = F.scaled_dot_product_attention(q, k, v)
        if (prob_scores and scores is None) or (selected_mass
                                                and lse is None):
            # portable path (also used with autograd): exact statistics
            # accumulated over query chunks
            lse_c, scores_c = _chunked_stats(q, k, scale,
                                             prob_scores and scores is None)
            lse = lse_c if lse is None else lse
            scores = scores_c if scores is None else scores

    if topk == 0:
        return PSAOutput(coarse, None, None, None, None)
    if score == 'mean_logit':
        scores = _mean_logit_scores(q, k, scale)

    top_scores, indices = scores.topk(min(topk, M), dim=-1)
    if score == 'mean_prob':
        valid = top_scores > score_thr
    else:  # logits have no natural threshold; the official code uses none
        valid = torch.ones_like(top_scores, dtype=torch.bool)
    flat, mask = _fine_token_index(indices, valid, (H, W), Wu)

    gather_idx = flat.unsqueeze(-1).expand(-1, -1, -1, d)
    k_sel = torch.gather(k_fine, 2, gather_idx)  # (B, h, 4k', d)
    v_sel = torch.gather(v_fine, 2, gather_idx)
    # Slices with no admissible fine token get O_fine = 0; give them one
    # unmasked key so the softmax stays finite, then zero their output.
    any_valid = mask.any(dim=-1, keepdim=True)  # (B, h, 1)
    safe_mask = mask | ~any_valid
    if impl == 'naive':
        logits = torch.matmul(q, k_sel.transpose(-2, -1)) * scale
        logits = logits.masked_fill(~safe_mask.unsqueeze(-2), float('-inf'))
        fine = torch.matmul(torch.softmax(logits, dim=-1), v_sel)
    else:
        fine = F.scaled_dot_product_attention(
            q, k_sel, v_sel, attn_mask=safe_mask.unsqueeze(-2))
    fine = fine * any_valid.unsqueeze(-1).to(fine.dtype)

    sel_mass = sel_coarse = None
    if selected_mass:
        top_idx = indices.unsqueeze(-1).expand(-1, -1, -1, d)
        v_top = torch.gather(v, 2, top_idx)  # (B, h, k', d)
        if attn is not None:
            a_sel = attn.gather(-1, indices.unsqueeze(-2).expand(
                -1, -1, N, -1)).float()
        else:
            k_top = torch.gather(k, 2, top_idx)
            a_sel = torch.exp(
                torch.matmul(q, k_top.transpose(-2, -1)).float() * scale -
                lse.unsqueeze(-1))
        a_sel = a_sel * valid.unsqueeze(-2)
        sel_mass = a_sel.sum(dim=-1)
        sel_coarse = torch.matmul(a_sel.to(v.dtype), v_top)
    return PSAOutput(coarse, fine, scores, indices, valid, sel_mass,
                     sel_coarse)


def pyramid_sparse_attention(
        q: Tensor, k: Tensor, v: Tensor, k_fine: Tensor, v_fine: Tensor,
        fine_hw: Sequence[int], coarse_hw: Sequence[int], topk: int,
        score_thr: float = 1e-6, impl: str = 'auto',
        score: str = 'mean_prob', fused_scores: bool = True) -> Tensor:
    """Pyramid Sparse Attention: coarse cross-attention plus sparse fine
    attention over the 2x2 patches under the top-k coarse keys.

    With ``A = softmax(q k^T / sqrt(d))``:

    * coarse: ``O_coarse = A v`` (eq. 2);
    * selection: ``s = mean over the N queries of A`` (eq. 3, per sample and
      head), the top-``topk`` coarse indices with ``s > score_thr`` (fewer
      when fewer pass; none -> ``O_fine = 0``); or, with
      ``score='mean_logit'``, the official code's ``s_j = mean_i(q_i.k_j) /
      sqrt(d)`` with no threshold. Selection is deterministic: the official
      code adds Gumbel noise to its scores on every forward, inference
      included, which makes its fine attention random; we never do;
    * fine: ``O_fine = softmax(q k_sel^T / sqrt(d)) v_sel`` over the (up to)
      ``4 * topk`` fine tokens of the selected 2x2 patches (eq. 4-5).

    Returns ``O_coarse + O_fine``; ``topk=0`` returns ``O_coarse`` alone.

    Args:
        q (Tensor): Queries from the fine map X, shape (B, h, N, d) with
            ``N = H * W``.
        k (Tensor): Keys from the coarse map U, shape (B, h, M, d) with
            ``M = Hu * Wu``.
        v (Tensor): Values from U, shape (B, h, M, d).
        k_fine (Tensor): The same key projection applied to X, (B, h, N, d).
        v_fine (Tensor): The same value projection applied to X, (B, h, N, d).
        fine_hw (Sequence[int]): (H, W) of X.
        coarse_hw (Sequence[int]): (Hu, Wu) of U; must be
            ``(ceil(H / 2), ceil(W / 2))``.
        topk (int): Number of coarse keys whose fine patches are attended.
            0 disables fine attention; values >= M select every key.
        score_thr (float): Only coarse keys whose score is strictly greater
            are selected. Defaults to 1e-6.
        impl (str): ``'naive'`` (explicit matmul/softmax, materialises A),
            ``'sdpa'`` (``F.scaled_dot_product_attention``; at inference the
            eq. 3 scores come from a second fused pass that reuses the
            coarse pass's log-sum-exp, with autograd they are accumulated
            over query chunks; memory O(N + M) or O(chunk * M)),
            ``'triton'`` (``'sdpa'`` with the inference scores from the
            Triton kernel of :mod:`.psa_triton`; where it cannot run, e.g.
            float64 or CPU tensors, the ``'sdpa'`` route is used and one
            line logged) or ``'auto'`` (``'triton'`` on CUDA, ``'sdpa'``
            elsewhere). Under ``torch.onnx.export`` every impl runs
            ``'naive'``, which exports to standard ONNX ops.
            Defaults to ``'auto'``.
        score (str): Selection score, ``'mean_prob'`` (paper eq. 3) or
            ``'mean_logit'`` (official code). Defaults to 'mean_prob'.
        fused_scores (bool): At inference (no autograd), take the eq. 3
            scores from the fused log-sum-exp route where a private fused
            kernel provides it (see :func:`_selection_scores_from_lse`).
            False runs the portable chunked route instead: the same scores
            from one explicit ``q k^T`` pass, which a FLOP counter sees
            (:func:`pst_mm.utils.complexity.count_complexity`) and tests
            compare with the fused one. Defaults to True.

    Returns:
        Tensor: Shape (B, h, N, d).
    """
    out = pyramid_sparse_attention_parts(
        q, k, v, k_fine, v_fine, fine_hw, coarse_hw, topk, score_thr, impl,
        score, fused_scores=fused_scores)
    return out.coarse if out.fine is None else out.coarse + out.fine
