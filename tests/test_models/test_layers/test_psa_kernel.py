# Copyright (c) pst-mm contributors. All rights reserved.
import math

import pytest
import torch
from torch.testing import assert_close

import pst_mm.models.layers.psa_kernel as psa
from pst_mm.models.layers import (pyramid_sparse_attention,
                                  pyramid_sparse_attention_parts)


def dense_reference(q, k, v, k_fine, v_fine, fine_hw, coarse_hw, topk,
                    score_thr=1e-6):
    """Slow, obviously-correct PSA: explicit loops over batch and heads.

    Works in float64 so it is the ground truth for float32 inputs.
    """
    q, k, v, k_fine, v_fine = (t.double() for t in (q, k, v, k_fine, v_fine))
    B, h, N, d = q.shape
    H, W = fine_hw
    Hu, Wu = coarse_hw
    out = torch.zeros_like(q)
    for b in range(B):
        for j in range(h):
            attn = torch.softmax(q[b, j] @ k[b, j].T / math.sqrt(d), dim=-1)
            res = attn @ v[b, j]
            if topk > 0:
                scores = attn.mean(dim=0)  # eq. 3, mean of probabilities
                order = sorted(
                    range(Hu * Wu), key=lambda i: -scores[i].item())
                chosen = [i for i in order[:topk] if scores[i] > score_thr]
                fine_idx = []
                for i in chosen:
                    r, c = divmod(i, Wu)
                    for rr in (2 * r, 2 * r + 1):
                        for cc in (2 * c, 2 * c + 1):
                            if rr < H and cc < W:
                                fine_idx.append(rr * W + cc)
                if fine_idx:
                    ks = k_fine[b, j, fine_idx]
                    vs = v_fine[b, j, fine_idx]
                    fa = torch.softmax(q[b, j] @ ks.T / math.sqrt(d), dim=-1)
                    res = res + fa @ vs
            out[b, j] = res
    return out


def make_inputs(B=2, h=2, H=6, W=8, d=8, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    Hu, Wu = (H + 1) // 2, (W + 1) // 2
    N, M = H * W, Hu * Wu

    def rnd(*shape):
        return torch.randn(*shape, generator=g) * scale

    return dict(
        q=rnd(B, h, N, d),
        k=rnd(B, h, M, d),
        v=rnd(B, h, M, d),
        k_fine=rnd(B, h, N, d),
        v_fine=rnd(B, h, N, d),
        fine_hw=(H, W),
        coarse_hw=(Hu, Wu))


@pytest.fixture(params=['fused', 'chunked'])
def fused_scores(request):
    """Run a test with the fused LSE score route and with the portable
    chunked one (the kernel's ``fused_scores``)."""
    return request.param == 'fused'


@pytest.mark.parametrize('impl', ['naive', 'sdpa', 'auto'])
@pytest.mark.parametrize('topk', [0, 1, 8, 12, 100])
@pytest.mark.parametrize('hw', [(6, 8), (7, 9), (5, 4), (1, 3)])
def test_matches_dense_reference(impl, topk, hw, fused_scores):
    inputs = make_inputs(H=hw[0], W=hw[1], scale=2.0)
    out = pyramid_sparse_attention(**inputs, topk=topk, impl=impl,
                                   fused_scores=fused_scores)
    ref = dense_reference(**inputs, topk=topk)
    assert out.shape == inputs['q'].shape
    assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('impl', ['naive', 'sdpa'])
def test_threshold_admits_fewer_than_k(impl):
    inputs = make_inputs(B=1, h=1, H=8, W=8, scale=3.0)
    parts = pyramid_sparse_attention_parts(**inputs, topk=8, impl=impl)
    sorted_scores = parts.scores[0, 0].sort(descending=True).values
    # A threshold between the 3rd and 4th highest score admits exactly 3.
    thr = float((sorted_scores[2] + sorted_scores[3]) / 2)
    parts = pyramid_sparse_attention_parts(
        **inputs, topk=8, score_thr=thr, impl=impl)
    assert int(parts.valid.sum()) == 3
    out = pyramid_sparse_attention(**inputs, topk=8, score_thr=thr, impl=impl)
    ref = dense_reference(**inputs, topk=8, score_thr=thr)
    assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)
    # ... and differs from taking all eight.
    ref8 = dense_reference(**inputs, topk=8)
    assert not torch.allclose(out.double(), ref8, atol=1e-4)


@pytest.mark.parametrize('impl', ['naive', 'sdpa'])
def test_threshold_admits_none_gives_coarse_only(impl):
    inputs = make_inputs()
    out = pyramid_sparse_attention(**inputs, topk=8, score_thr=1.0, impl=impl)
    coarse = pyramid_sparse_attention(**inputs, topk=0, impl=impl)
    assert torch.isfinite(out).all()
    assert_close(out, coarse)


def test_scores_are_mean_of_probabilities():
    inputs = make_inputs(B=1, h=1)
    parts = pyramid_sparse_attention_parts(**inputs, topk=4, impl='sdpa')
    q, k = inputs['q'][0, 0], inputs['k'][0, 0]
    attn = torch.softmax(q @ k.T / math.sqrt(q.shape[-1]), dim=-1)
    assert_close(parts.scores[0, 0], attn.mean(0))
    assert_close(parts.scores.sum(-1), torch.ones(1, 1))
    # Descending order, and the indices are those of the top scores.
    assert_close(parts.scores[0, 0][parts.indices[0, 0]],
                 attn.mean(0).topk(4).values)


def test_fused_lse_scores_are_exact():
    inputs = make_inputs(B=2, h=3, H=9, W=7, scale=3.0)
    q, k = inputs['q'], inputs['k']
    scale = q.shape[-1]**-0.5
    res = psa._fused_attention_lse(q, k, inputs['v'], scale)
    assert res is not None, 'the CPU fused kernel returns no LSE'
    attn = torch.softmax(q.double() @ k.double().transpose(-2, -1) * scale,
                         -1)
    assert_close(res[0].double(), attn @ inputs['v'].double(), rtol=1e-5,
                 atol=1e-5)
    scores = psa._selection_scores_from_lse(q, k, res[1], scale)
    assert_close(scores.double(), attn.mean(-2), rtol=1e-5, atol=1e-7)
    # The portable chunked route gives the same scores and LSE.
    lse, chunked = psa._chunked_stats(q, k, scale, True)
    assert_close(chunked, scores, rtol=1e-5, atol=1e-7)
    assert_close(lse, res[1], rtol=1e-5, atol=1e-5)
    assert_close(lse.double(), torch.logsumexp(
        q.double() @ k.double().transpose(-2, -1) * scale, -1), rtol=1e-5,
        atol=1e-5)


def test_fused_route_falls_back_when_unavailable(monkeypatch):
    inputs = make_inputs()
    expected = pyramid_sparse_attention(**inputs, topk=4, impl='naive')
    monkeypatch.setattr(psa, '_fused_attention_lse', lambda *a: None)
    assert_close(pyramid_sparse_attention(**inputs, topk=4, impl='sdpa'),
                 expected, rtol=1e-5, atol=1e-6)


def test_chunked_scores_match_naive(monkeypatch):
    inputs = make_inputs(B=2, h=3, H=9, W=7)
    full = pyramid_sparse_attention_parts(**inputs, topk=5, impl='naive')
    # Force many small chunks (including a ragged last one).
    monkeypatch.setattr(psa, '_SCORE_CHUNK_ELEMS', 2 * 3 * 20 * 4)
    # the fused route must not be taken: it would give no chunked scores
    monkeypatch.setattr(psa, '_fused_attention_lse', None)
    chunked = pyramid_sparse_attention_parts(**inputs, topk=5, impl='sdpa',
                                             fused_scores=False)
    assert_close(chunked.scores, full.scores)
    assert torch.equal(chunked.indices, full.indices)
    assert_close(chunked.fine, full.fine, rtol=1e-5, atol=1e-6)


def test_odd_sizes_never_select_outside_the_map():
    # 1 x 1 fine map: the single coarse key covers only fine token 0.
    inputs = make_inputs(B=1, h=1, H=1, W=1)
    out = pyramid_sparse_attention(**inputs, topk=8)
    ref = dense_reference(**inputs, topk=8)
    assert_close(out.double(), ref, rtol=1e-4, atol=1e-5)
    q = inputs['q'][0, 0]
    manual = inputs['v'][0, 0] + inputs['v_fine'][0, 0]
    assert_close(out[0, 0], manual.expand_as(q))


def test_batch_independence():
    inputs = make_inputs(B=3)
    out = pyramid_sparse_attention(**inputs, topk=4)
    for i in range(3):
        single = {
            key: (val[i:i + 1] if torch.is_tensor(val) else val)
            for key, val in inputs.items()
        }
        assert_close(
            pyramid_sparse_attention(**single, topk=4), out[i:i + 1])


def test_deterministic():
    inputs = make_inputs()
    a = pyramid_sparse_attention(**inputs, topk=8)
    b = pyramid_sparse_attention(**inputs, topk=8)
    assert torch.equal(a, b)


def test_gradients_flow_through_coarse_and_fine():
    inputs = make_inputs(B=1)
    tensors = {
        key: val.clone().requires_grad_(True)
        for key, val in inputs.items() if torch.is_tensor(val)
    }
    out = pyramid_sparse_attention(
        **tensors, fine_hw=inputs['fine_hw'],
        coarse_hw=inputs['coarse_hw'], topk=4)
    out.sum().backward()
    for name, t in tensors.items():
        assert t.grad is not None and t.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    'change, match',
    [
        (dict(q=torch.randn(2, 2, 48, 4)), 'dim'),
        (dict(k=torch.randn(1, 2, 12, 8)), 'batch'),
        (dict(v=torch.randn(2, 3, 12, 8)), 'heads'),
        (dict(k_fine=torch.randn(2, 2, 40, 8)), 'k_fine'),
        (dict(fine_hw=(6, 9)), 'N=48'),
        (dict(coarse_hw=(4, 3)), 'coarse_hw'),
        (dict(k=torch.randn(2, 2, 10, 8), v=torch.randn(2, 2, 10, 8)), 'M=10'),
        (dict(q=torch.randn(2, 48, 8)), '4-D'),
        (dict(topk=-1), 'topk'),
        (dict(topk=2.5), 'topk'),
        (dict(impl='flash'), 'impl'),
    ])
def test_bad_input_raises(change, match):
    kwargs = make_inputs()
    kwargs['topk'] = 4
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        pyramid_sparse_attention(**kwargs)


def test_checked_skips_the_checks(monkeypatch):
    """checked=True is the trusted path of PyramidSparseAttention: nothing
    is checked again; the public calls check once."""
    calls = []
    check = psa._check_inputs
    monkeypatch.setattr(psa, '_check_inputs',
                        lambda *a: calls.append(1) or check(*a))
    inputs = make_inputs()
    out = pyramid_sparse_attention(**inputs, topk=4)
    assert calls == [1]
    parts = pyramid_sparse_attention_parts(**inputs, topk=4, checked=True)
    assert calls == [1]
    assert_close(parts.coarse + parts.fine, out)


def test_coarse_grid_must_be_ceil_half():
    # M matches Hu*Wu, but (Hu, Wu) is not (ceil(H/2), ceil(W/2)).
    kwargs = make_inputs(H=6, W=8)  # coarse 3x4
    kwargs['coarse_hw'] = (2, 6)
    with pytest.raises(ValueError, match='ceil'):
        pyramid_sparse_attention(**kwargs, topk=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('impl', ['naive', 'sdpa', 'auto'])
def test_cuda_matches_dense_reference(impl):
    inputs = make_inputs(H=13, W=18, d=32, scale=2.0)
    cuda = {
        key: (val.cuda() if torch.is_tensor(val) else val)
        for key, val in inputs.items()
    }
    for topk in (0, 8):
        out = pyramid_sparse_attention(**cuda, topk=topk, impl=impl)
        ref = dense_reference(**inputs, topk=topk)
        # TF32/flash kernels: looser than the CPU comparison.
        assert_close(out.double().cpu(), ref, rtol=2e-3, atol=2e-3)


def test_mean_logit_selects_top_of_mean_query_logits():
    inputs = make_inputs(B=2, h=3, H=9, W=7, scale=2.0)
    q, k = inputs['q'], inputs['k']
    parts = pyramid_sparse_attention_parts(
        **inputs, topk=5, score='mean_logit', impl='sdpa')
    for b in range(2):
        for j in range(3):
            logits = q[b, j].double() @ k[b, j].double().T / math.sqrt(8)
            expected = (q[b, j].double().mean(0) @ k[b, j].double().T
                        ) / math.sqrt(8)
            assert_close(parts.scores[b, j].double(), logits.mean(0),
                         rtol=1e-5, atol=1e-5)
            assert_close(parts.scores[b, j].double(), expected, rtol=1e-5,
                         atol=1e-5)
            assert torch.equal(parts.indices[b, j], expected.topk(5).indices)
    # Logits may be negative: no threshold applies to them.
    assert parts.valid.all()
    naive = pyramid_sparse_attention_parts(
        **inputs, topk=5, score='mean_logit', impl='naive')
    assert torch.equal(naive.indices, parts.indices)
    assert_close(naive.fine, parts.fine, rtol=1e-5, atol=1e-6)


def _dense_selected_mass(q, k, v, indices, valid):
    """sum_{j in sel, valid} A_ij and sum A_ij v_j by explicit loops."""
    q, k, v = q.double(), k.double(), v.double()
    B, h, N, d = q.shape
    mass = torch.zeros(B, h, N, dtype=torch.float64)
    part = torch.zeros(B, h, N, d, dtype=torch.float64)
    for b in range(B):
        for j in range(h):
            attn = torch.softmax(q[b, j] @ k[b, j].T / math.sqrt(d), -1)
            for t, i in enumerate(indices[b, j].tolist()):
                if valid[b, j, t]:
                    mass[b, j] += attn[:, i]
                    part[b, j] += attn[:, i, None] * v[b, j, i]
    return mass, part


@pytest.mark.parametrize('impl', ['naive', 'sdpa'])
@pytest.mark.parametrize('score', ['mean_prob', 'mean_logit'])
def test_selected_mass_matches_dense(impl, score, fused_scores):
    inputs = make_inputs(B=2, h=2, H=7, W=9, scale=2.0)
    parts = pyramid_sparse_attention_parts(
        **inputs, topk=6, impl=impl, score=score, selected_mass=True,
        score_thr=0.02, fused_scores=fused_scores)
    mass, part = _dense_selected_mass(inputs['q'], inputs['k'], inputs['v'],
                                      parts.indices, parts.valid)
    assert_close(parts.sel_mass.double(), mass, rtol=1e-5, atol=1e-6)
    assert_close(parts.sel_coarse.double(), part, rtol=1e-5, atol=1e-6)
    assert (parts.sel_mass >= 0).all() and (parts.sel_mass <= 1 + 1e-6).all()
    # Not requested: not computed.
    plain = pyramid_sparse_attention_parts(**inputs, topk=6, impl=impl)
    assert plain.sel_mass is None and plain.sel_coarse is None


def test_selected_mass_is_differentiable_in_training():
    inputs = make_inputs(B=1, h=2, H=6, W=6)
    q = inputs['q'].requires_grad_()
    k = inputs['k'].requires_grad_()
    parts = pyramid_sparse_attention_parts(
        **dict(inputs, q=q, k=k), topk=3, impl='sdpa', selected_mass=True)
    (parts.sel_coarse.sum() + parts.sel_mass.sum()).backward()
    assert q.grad.abs().sum() > 0 and k.grad.abs().sum() > 0


def test_unknown_score_raises():
    with pytest.raises(ValueError, match=r"score must be one of .*'nope'"):
        pyramid_sparse_attention(**make_inputs(), topk=2, score='nope')
