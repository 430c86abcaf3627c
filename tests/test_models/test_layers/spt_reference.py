# Copyright (c) pst-mm contributors. All rights reserved.
"""Slow, obviously correct references for the select-and-pack attention
tests (test-only: the package keeps the fast path alone)."""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def select_pack_attention_reference(x: Tensor,
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
                                    window_size: Optional[int] = None
                                    ) -> Tensor:
    """Slow reference of :func:`select_pack_attention`: Python loops cut
    the selected-token stream into containers, split every container into
    groups, and run explicit softmax attention on each segment."""
    B, N, C = x.shape
    d = C // num_heads
    scale = d**-0.5 if scale is None else scale
    L = container_len
    tokens: List[Tuple[int, int]] = [(b, n) for b in range(B)
                                     for n in range(N) if bool(sel[b, n])]
    if pack_per_image:
        chunks = []
        for b in range(B):
            mine = [t for t in tokens if t[0] == b]
            chunks += [mine[i:i + L] for i in range(0, len(mine), L)]
    else:
        chunks = [tokens[i:i + L] for i in range(0, len(tokens), L)]
    rows = {}
    for chunk in chunks:
        for g in sorted({int(group[b, n]) for b, n in chunk}):
            seg = [(b, n) for b, n in chunk if int(group[b, n]) == g]
            xs = torch.stack([x[b, n] for b, n in seg])
            qkv = F.linear(xs, qkv_weight, qkv_bias).view(len(seg), 3,
                                                          num_heads, d)
            q, k, v = (qkv[:, i].transpose(0, 1) for i in range(3))
            att = (q * scale) @ k.transpose(-2, -1)
            if coords is not None and bias_table is not None:
                M = window_size
                for i, (bi, ni) in enumerate(seg):
                    for j, (bj, nj) in enumerate(seg):
                        dy = int(coords[bi, ni, 0] - coords[bj, nj, 0])
                        dx = int(coords[bi, ni, 1] - coords[bj, nj, 1])
                        dy = max(-(M - 1), min(M - 1, dy))
                        dx = max(-(M - 1), min(M - 1, dx))
                        att[:, i, j] = att[:, i, j] + bias_table[
                            (dy + M - 1) * (2 * M - 1) + dx + M - 1]
            o = (att.softmax(-1) @ v).transpose(0, 1).reshape(len(seg), C)
            o = F.linear(o, proj_weight, proj_bias)
            for i, t in enumerate(seg):
                rows[t] = o[i]
    zero = x.new_zeros(C)
    return torch.stack([
        torch.stack([rows.get((b, n), zero) for n in range(N)])
        for b in range(B)
    ])


def num_containers(sel: Tensor, container_len: int,
                   pack_per_image: bool = False) -> int:
    """``B'`` for a ``(B, N)`` selection, in closed form (checks the
    container count of :func:`pack_tokens`)."""
    if pack_per_image:
        return int(((sel.sum(1) + container_len - 1) //
                    container_len).sum())
    return int(math.ceil(int(sel.sum()) / container_len))
