# Copyright (c) pst-mm contributors. All rights reserved.
"""Triton kernel for the PSA selection scores (PST paper, eq. 3).

For every coarse key ``j`` of every sample and head::

    s_j = 1/N sum_i exp(q_i.k_j * scale - LSE_i)

where ``LSE_i = logsumexp_j(q_i.k_j * scale)`` comes from the coarse
attention pass, so the probabilities need no second softmax. One program
owns a tile of keys and makes one pass over all query tiles, accumulating in
float32: the extra memory is the (B, h, M) output, O(N + M) with the inputs,
and the work is one ``q k^T`` plus one ``exp`` per query-key pair, about half
of a coarse attention pass (which also does ``P v``).

The ``'mean_logit'`` scores need no kernel: ``mean_i(q_i.k_j) * scale =
mean(q).k_j * scale`` is one (1 x d) by (d x M) product per head, O((N + M)
d), cheaper than any kernel that visits the N x M pairs
(``psa_kernel._mean_logit_scores``).

The kernel runs on CUDA tensors, and on CPU tensors under Triton's
interpreter (``TRITON_INTERPRET=1`` set before Triton is imported), which is
how the tests check it against the float64 dense reference. Use
:func:`triton_unsupported` to ask whether it can run on given inputs; the
PSA kernel (:mod:`.psa_kernel`) falls back to its portable paths otherwise.
"""
import os
from typing import Optional

import torch
from torch import Tensor

try:  # Triton ships with the CUDA builds of torch on Linux
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - CPU-only torch builds
    triton = None
    tl = None

SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
# The head dim is padded to a power of two >= 16 (tl.dot's smallest tile).
MAX_HEAD_DIM = 256


# Triton reads TRITON_INTERPRET when a kernel is defined (at this module's
# import): read it once, here, so no forward reads the environment.
INTERPRETER = os.environ.get('TRITON_INTERPRET', '0') not in ('', '0')


def interpreter_active() -> bool:
    """Whether this module's kernels run in Triton's CPU interpreter."""
    return INTERPRETER and triton is not None


def triton_unsupported(q: Tensor, k: Tensor) -> Optional[str]:
    """Why the Triton score kernel cannot take ``q`` and ``k`` (a short
    reason for a log line), or None when it can."""
    if triton is None:
        return 'triton is not installed'
    if q.dtype not in SUPPORTED_DTYPES or k.dtype != q.dtype:
        return (f'dtype {q.dtype}/{k.dtype} (supported: float16, bfloat16, '
                'float32)')
    if q.device.type != 'cuda' and not (q.device.type == 'cpu'
                                        and interpreter_active()):
        return (f'tensors on {q.device.type} (Triton needs CUDA, or the CPU '
                'interpreter with TRITON_INTERPRET=1)')
    if q.shape[-1] > MAX_HEAD_DIM:
        return f'head dim {q.shape[-1]} > {MAX_HEAD_DIM}'
    return None


if triton is not None:

    @triton.jit
    def _load_tile(ptr, rows, row_stride, cols, row_mask, col_mask,
                   UPCAST: tl.constexpr):
        """A (rows x cols) tile of a matrix with unit column stride, zero
        outside the masks; float32 with ``UPCAST``."""
        tile = tl.load(
            ptr + rows[:, None] * row_stride + cols[None, :],
            mask=row_mask[:, None] & col_mask[None, :],
            other=0.0)
        if UPCAST:
            tile = tile.to(tl.float32)
        return tile

    @triton.jit
    def _selection_score_kernel(Q, K, LSE, OUT, N, M, qk_scale, inv_n,
                                stride_qb, stride_qn, stride_kb, stride_km,
                                stride_lb, D: tl.constexpr,
                                BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
                                BLOCK_M: tl.constexpr, IEEE: tl.constexpr,
                                UPCAST: tl.constexpr):
        """One program: BLOCK_M keys of one (sample, head), all queries.

        ``qk_scale`` is ``scale * log2(e)`` and LSE is converted to base 2,
        so ``exp`` becomes the cheaper ``exp2``. Q/K rows are contiguous
        (unit stride in the head dim); OUT is contiguous (BH, M) float32.
        ``IEEE``: exact float32 products (no TF32) for float32 inputs.
        ``UPCAST``: multiply in float32 (the interpreter's bfloat16
        ``tl.dot`` is wrong in Triton 3.7; GPUs multiply bfloat16 natively).
        """
        pid_m = tl.program_id(0)
        bh = tl.program_id(1).to(tl.int64)
        offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        offs_d = tl.arange(0, BLOCK_D)
        d_mask = offs_d < D
        m_mask = offs_m < M
        k = _load_tile(K + bh * stride_kb, offs_m, stride_km, offs_d, m_mask,
                       d_mask, UPCAST)
        acc = tl.zeros([BLOCK_M], dtype=tl.float32)
        LOG2E: tl.constexpr = 1.4426950408889634
        for start in range(0, N, BLOCK_N):
            offs_n = start + tl.arange(0, BLOCK_N)
            n_mask = offs_n < N
            q = _load_tile(Q + bh * stride_qb, offs_n, stride_qn, offs_d,
                           n_mask, d_mask, UPCAST)
            if IEEE or UPCAST:
                s = tl.dot(q, tl.trans(k), input_precision='ieee')
            else:
                s = tl.dot(q, tl.trans(k))
            lse = tl.load(
                LSE + bh * stride_lb + offs_n, mask=n_mask, other=0.0)
            # (BLOCK_N, BLOCK_M) float32 probabilities, in base 2
            p = tl.exp2(s * qk_scale - (lse * LOG2E)[:, None])
            p = tl.where(n_mask[:, None], p, 0.0)
            acc += tl.sum(p, axis=0)
        tl.store(OUT + bh * M + offs_m, acc * inv_n, mask=m_mask)


if triton is not None:
    # An opaque custom op with a shape-only fake: torch.compile (fullgraph)
    # and export see one call and never trace Triton's launcher.

    @torch.library.custom_op('pst_mm::psa_selection_scores', mutates_args=())
    def _selection_scores_op(q: Tensor, k: Tensor, lse: Tensor,
                             scale: float) -> Tensor:
        return _launch(q, k, lse, scale)

    @_selection_scores_op.register_fake
    def _(q: Tensor, k: Tensor, lse: Tensor, scale: float) -> Tensor:
        return q.new_empty((q.shape[0], q.shape[1], k.shape[2]),
                           dtype=torch.float32)


def _next_pow2(x: int) -> int:
    return 1 << max(0, (int(x) - 1).bit_length())


def triton_selection_scores(q: Tensor, k: Tensor, lse: Tensor,
                            scale: float) -> Tensor:
    """Eq. 3 selection scores of every coarse key from one Triton kernel.

    Args:
        q (Tensor): Queries, (B, h, N, d), float16/bfloat16/float32.
        k (Tensor): Coarse keys, (B, h, M, d), same dtype as ``q``.
        lse (Tensor): ``logsumexp_j(q_i.k_j * scale)`` from the coarse
            pass, (B, h, N), float32.
        scale (float): Logit scale, ``1 / sqrt(d)`` in PSA.

    Returns:
        Tensor: float32 (B, h, M), the mean over the N queries of the
        softmax probabilities; no gradient.
    """
    reason = triton_unsupported(q, k)
    if reason is not None:
        raise RuntimeError(f'Triton selection-score kernel: {reason}')
    return _selection_scores_op(q.detach(), k.detach(), lse.detach().float(),
                                float(scale))


def _launch(q: Tensor, k: Tensor, lse: Tensor, scale: float) -> Tensor:
    """Run the kernel on (B, h, N, d) / (B, h, M, d) / (B, h, N) inputs."""
    B, h, N, d = q.shape
    M = k.shape[2]
    q = q.reshape(B * h, N, d).contiguous()
    k = k.reshape(B * h, M, d).contiguous()
    lse = lse.reshape(B * h, N).contiguous()
    out = q.new_empty((B * h, M), dtype=torch.float32)
    BLOCK_D = max(16, _next_pow2(d))
    # 64 x 64 tiles keep the float32 probability tile in registers for
    # d <= 64; the interpreter runs the same code in numpy, where small
    # tiles are faster.
    block = 16 if q.device.type == 'cpu' else (64 if BLOCK_D <= 64 else 32)
    grid = (triton.cdiv(M, block), B * h)
    _selection_score_kernel[grid](
        q, k, lse, out, N, M, scale * 1.4426950408889634, 1.0 / N,
        q.stride(0), q.stride(1), k.stride(0), k.stride(1), lse.stride(0),
        D=d, BLOCK_D=BLOCK_D, BLOCK_N=block, BLOCK_M=block,
        IEEE=q.dtype == torch.float32,
        UPCAST=q.device.type == 'cpu' and q.dtype == torch.bfloat16)
    return out.reshape(B, h, M)


__all__ = [
    'SUPPORTED_DTYPES', 'INTERPRETER', 'interpreter_active',
    'triton_unsupported', 'triton_selection_scores'
]
