# Copyright (c) pst-mm contributors. All rights reserved.
"""Select-and-pack attention core vs a loop over (container, group)
segments: forward and gradients, edge cases, no leakage."""
import pytest
import torch

from spt_reference import num_containers, select_pack_attention_reference

from pst_mm.models.layers.select_pack_attention import (
    check_container_len, check_select_threshold, pack_tokens,
    packed_attention, relative_position_bias, select_pack_attention,
    select_tokens)

C, HEADS = 8, 2


def _params(seed=0, table=False, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    p = dict(
        qkv_weight=torch.randn(3 * C, C, generator=g) * 0.3,
        qkv_bias=torch.randn(3 * C, generator=g) * 0.1,
        proj_weight=torch.randn(C, C, generator=g) * 0.3,
        proj_bias=torch.randn(C, generator=g) * 0.1)
    if table:
        p['bias_table'] = torch.randn(9, HEADS, generator=g)  # M = 2
    return {k: v.to(dtype).requires_grad_() for k, v in p.items()}


def _case(counts, N=12, seed=0, dtype=torch.float32):
    """x (B, N, C) and a selection with ``counts[b]`` tokens in image b."""
    g = torch.Generator().manual_seed(seed)
    B = len(counts)
    x = torch.randn(B, N, C, generator=g).to(dtype).requires_grad_()
    sel = torch.zeros(B, N, dtype=torch.bool)
    for b, n in enumerate(counts):
        sel[b, torch.randperm(N, generator=g)[:n]] = True
    # two groups per image (like shifted-window regions), ids unique
    group = torch.arange(B)[:, None] * 2 + (torch.arange(N) % 5 == 0)
    coords = torch.stack(
        [torch.arange(N) // 4, torch.arange(N) % 4], -1).expand(B, N, 2)
    return x, sel, group, coords


@pytest.mark.parametrize('counts,L,per_image,bias', [
    ((0, 0), 4, False, False),      # nothing selected anywhere
    ((3, 0), 4, False, False),      # fewer than L, one empty image
    ((4, 8), 4, False, False),      # exact multiple of L
    ((5, 7, 2), 4, False, True),    # containers span images, rel-pos bias
    ((5, 7, 2), 4, True, False),    # per-image packing
    ((12, ), 9, False, True),       # one image, all selected
])
def test_packed_equals_segment_loop(counts, L, per_image, bias):
    # float64, so that the two summation orders agree to 1e-10 and a
    # wrong mask (a leak of one token) cannot hide in float32 noise
    x, sel, group, coords = _case(counts, dtype=torch.float64)
    p = _params(table=bias, dtype=torch.float64)
    extra = dict(coords=coords, window_size=2) if bias else {}
    kw = dict(num_heads=HEADS, container_len=L, pack_per_image=per_image,
              **extra)
    out = select_pack_attention(x, sel, group, **p, **kw)
    ref = select_pack_attention_reference(x, sel, group, **p, **kw)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-9)
    assert torch.isfinite(out).all()
    assert (out[~sel] == 0).all()
    if sum(counts) == 0:  # attention skipped: a constant zero output
        assert not out.requires_grad and (out == 0).all()
        return
    # gradients w.r.t. the input and every weight
    w = torch.randn_like(out)
    leaves = [x] + list(p.values())
    g_out = torch.autograd.grad((out * w).sum(), leaves, allow_unused=True)
    g_ref = torch.autograd.grad((ref * w).sum(), leaves, allow_unused=True)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize('counts,L', [((0, 3), 4), ((4, 8), 4),
                                      ((5, 7, 2), 9), ((6, ), 4)])
def test_packed_equals_segment_loop_fp32(counts, L):
    # the tolerance: float32 forward and gradients within 1e-6
    x, sel, group, _ = _case(counts)
    p = _params()
    kw = dict(num_heads=HEADS, container_len=L)
    out = select_pack_attention(x, sel, group, **p, **kw)
    ref = select_pack_attention_reference(x, sel, group, **p, **kw)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
    w = torch.randn_like(out)
    leaves = [x] + list(p.values())
    g_out = torch.autograd.grad((out * w).sum(), leaves)
    g_ref = torch.autograd.grad((ref * w).sum(), leaves)
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)


def test_pack_layout():
    sel = torch.tensor([[1, 0, 1, 1, 1, 0], [0, 1, 1, 0, 0, 0]]).bool()
    idx = pack_tokens(sel, 4)
    assert idx.num_containers == 2  # 6 tokens, only the last one padded
    assert idx.token_idx.tolist() == [0, 2, 3, 4, 7, 8]
    assert idx.slot_idx.tolist() == [0, 1, 2, 3, 4, 5]
    idx = pack_tokens(sel, 4, pack_per_image=True)
    assert idx.num_containers == 2
    assert idx.slot_idx.tolist() == [0, 1, 2, 3, 4, 5]
    idx = pack_tokens(sel, 3, pack_per_image=True)
    assert idx.num_containers == 3  # image 0: 4 tokens -> 2 containers
    assert idx.slot_idx.tolist() == [0, 1, 2, 3, 6, 7]
    # the closed-form count agrees on random selections
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        sel = torch.rand(3, 17, generator=g) < 0.4
        for L in (1, 4, 9):
            for per_image in (False, True):
                assert pack_tokens(sel, L, per_image).num_containers == \
                    num_containers(sel, L, per_image)


def test_no_leakage_between_images():
    x, sel, group, _ = _case((5, 7, 6))
    p = _params()
    kw = dict(num_heads=HEADS, container_len=4)
    with torch.no_grad():
        out = select_pack_attention(x, sel, group, **p, **kw)
        x2 = x.clone()
        x2[1] += torch.randn_like(x2[1]) * 5  # image 2 (index 1) only
        out2 = select_pack_attention(x2, sel, group, **p, **kw)
    assert torch.equal(out[0], out2[0]) and torch.equal(out[2], out2[2])
    assert not torch.allclose(out[1], out2[1])


def test_no_fully_masked_row():
    # pad slots (group -1) attend to each other: every row has a key
    q = torch.randn(2, 1, 4, 3)
    group = torch.tensor([[0, 0, 1, -1], [1, -1, -1, -1]])
    out = packed_attention(q, q, q, group)
    assert torch.isfinite(out).all()
    # a lone token attends only to itself
    torch.testing.assert_close(out[1, :, 0], q[1, :, 0])


def test_relative_position_bias_matches_swin_window():
    from mmdet.models.backbones.swin import WindowMSA
    M = 3
    attn = WindowMSA(6, 2, (M, M))
    table = torch.randn_like(attn.relative_position_bias_table)
    coords = torch.stack(torch.meshgrid(
        torch.arange(M), torch.arange(M), indexing='ij'), -1).view(1, -1, 2)
    ours = relative_position_bias(coords, table, M)[0]
    swin = table[attn.relative_position_index.view(-1)].view(
        M * M, M * M, -1).permute(2, 0, 1)
    torch.testing.assert_close(ours, swin)


def test_selection_semantics():
    s = torch.randn(4, 50) * 4
    sel, w = select_tokens(s, 0.3, training=False)
    assert torch.equal(sel, torch.sigmoid(s) > 0.3)
    assert torch.equal(w, sel.float())
    torch.manual_seed(1)
    a, wa = select_tokens(s.requires_grad_(), 0.3, training=True)
    torch.manual_seed(1)
    b, _ = select_tokens(s, 0.3, training=True)
    torch.manual_seed(2)
    c, _ = select_tokens(s, 0.3, training=True)
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.testing.assert_close(wa, a.float())  # straight-through value
    wa.sum().backward()
    assert (s.grad > 0).all()  # ...and the sigmoid's gradient
    none, _ = select_tokens(s, 0.3, training=True, noise='none')
    assert torch.equal(none, torch.sigmoid(s) > 0.3)


@pytest.mark.parametrize('thr', [0, 1, -0.1, 1.5, True])
def test_bad_threshold(thr):
    with pytest.raises(ValueError, match='select_thr'):
        check_select_threshold(thr)


@pytest.mark.parametrize('L', [0, 8, 16, -4, 4.0])
def test_bad_container_len(L):
    with pytest.raises(ValueError, match='container_len'):
        check_container_len(L, 3)
    check_container_len(9, 3)


def test_bad_noise():
    with pytest.raises(ValueError, match='noise'):
        select_tokens(torch.zeros(2), noise='uniform', training=True)
