# Copyright (c) pst-mm contributors. All rights reserved.
import pytest
import torch
from torch.testing import assert_close

from pst_mm.models.layers import (PSABlock, PyramidSparseAttention,
                                  PyramidSparseTransformer, pst_embed_channels,
                                  set_pst_topk)


def _pst(**kwargs):
    cfg = dict(
        in_channels=24,
        upper_channels=40,
        out_channels=32,
        embed_channels=64,
        num_heads=2)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return PyramidSparseTransformer(**cfg)


def _randomise_bn(model):
    # Fresh BNs are identities in eval mode; random statistics make every
    # branch matter for the comparisons below.
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * .1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + .5)
    return model


def _inputs(B=2, H=14, W=10, C=24, C_up=40):
    g = torch.Generator().manual_seed(2)
    return (torch.randn(B, C, H, W, generator=g),
            torch.randn(B, C_up, (H + 1) // 2, (W + 1) // 2, generator=g))


@pytest.mark.parametrize('hw', [(14, 10), (7, 9), (1, 1)])
def test_pst_output_shape(hw):
    model = _pst().eval()
    x, u = _inputs(H=hw[0], W=hw[1])
    assert model(x, u).shape == (2, 32, *hw)
    model.train()
    assert model(x, u).shape == (2, 32, *hw)


def test_default_heads_are_embed_over_32():
    attn = PyramidSparseAttention(128)
    assert attn.num_heads == 4
    assert PyramidSparseAttention(16).num_heads == 1


def test_eval_deterministic_and_batch_independent():
    model = _randomise_bn(_pst()).eval()
    x, u = _inputs(B=3)
    with torch.no_grad():
        out = model(x, u)
        assert torch.equal(out, model(x, u))
        for i in range(3):
            assert_close(model(x[i:i + 1], u[i:i + 1]), out[i:i + 1],
                         rtol=1e-5, atol=1e-5)


def test_fine_branch_only_at_inference_by_default():
    model = _randomise_bn(_pst(topk=8))
    x, u = _inputs()
    attn = model.blocks[0].attn
    calls = []
    # The fine K/V projection only runs when the fine branch is active.
    handle = attn.kv.register_forward_hook(
        lambda m, i, o: calls.append(i[0].shape[-2:]))
    model.train()
    model(x, u)
    assert calls == [u.shape[-2:]]  # K/V of the coarse map only
    calls.clear()
    model.eval()
    with torch.no_grad():
        fine = model(x, u)
        assert calls == [u.shape[-2:], x.shape[-2:]]
        set_pst_topk(model, 0)
        coarse = model(x, u)
    handle.remove()
    assert not torch.allclose(fine, coarse, atol=1e-4)


def test_fine_in_training_runs_fine_branch_in_train_mode():
    x, u = _inputs()
    on = _randomise_bn(_pst(topk=4, fine_in_training=True)).train()
    off = _randomise_bn(_pst(topk=4)).train()
    off.load_state_dict(on.state_dict())
    assert on.blocks[0].attn.active_topk() == 4
    assert off.blocks[0].attn.active_topk() == 0
    assert not torch.allclose(on(x, u), off(x, u), atol=1e-4)


def test_gradients_reach_every_parameter_used_in_training():
    model = _pst(num_blocks=2).train()
    x, u = _inputs()
    model(x, u).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_fine_in_training_gradients_reach_separate_fine_kv():
    model = _pst(topk=4, fine_in_training=True, share_kv=False).train()
    x, u = _inputs()
    model(x, u).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('kwargs', [
    dict(gate=True),
    dict(share_kv=False),
    dict(attn='linear', topk=0),
    dict(attn='linear_relu', topk=0),
    dict(impl='naive'),
    dict(impl='sdpa'),
    dict(num_blocks=3),
    dict(topk=0),
    dict(topk=100),
    dict(fine_in_training=True),
    dict(score_thr=0.5),
])
def test_every_option_builds_and_runs(kwargs):
    model = _pst(**kwargs)
    x, u = _inputs(H=9, W=7)
    for mode in (True, False):
        model.train(mode)
        out = model(x, u)
        assert out.shape == (2, 32, 9, 7)
        assert torch.isfinite(out).all()


def test_option_submodules():
    gated = _pst(gate=True).blocks[0].attn
    assert isinstance(gated.gate, torch.nn.Conv2d)
    assert gated.gate.in_channels == 128 and gated.gate.out_channels == 64
    assert _pst().blocks[0].attn.gate is None
    assert _pst().blocks[0].attn.kv_fine is None
    unshared = _pst(share_kv=False).blocks[0].attn
    assert unshared.kv_fine is not None and not unshared.share_kv
    assert len(_pst(num_blocks=3).blocks) == 3


def test_gate_changes_output_and_unshared_kv_is_used():
    x, u = _inputs()
    base = _randomise_bn(_pst(topk=4)).eval()
    unshared = _randomise_bn(_pst(topk=4, share_kv=False)).eval()
    unshared.load_state_dict(base.state_dict(), strict=False)
    with torch.no_grad():
        # Same weights except the (random) fine K/V conv: outputs differ.
        assert not torch.allclose(base(x, u), unshared(x, u), atol=1e-4)
        # With the fine K/V conv copied from the shared one they agree.
        unshared.blocks[0].attn.kv_fine.load_state_dict(
            base.blocks[0].attn.kv.state_dict())
        assert_close(base(x, u), unshared(x, u))


def test_linear_attention_is_kernelised():
    attn = _randomise_bn(
        PyramidSparseAttention(32, num_heads=1, attn='linear_relu',
                               topk=0)).eval()
    x = torch.randn(1, 32, 6, 6)
    u = torch.randn(1, 32, 3, 3)
    with torch.no_grad():
        out = attn(x, u)
        q = attn.q(x).flatten(2).transpose(1, 2).relu()
        k, v = attn.kv(u).chunk(2, dim=1)
        k = k.flatten(2).transpose(1, 2).relu()
        v_tok = v.flatten(2).transpose(1, 2)
        a = q @ k.transpose(1, 2)
        o = (a @ v_tok) / (a.sum(-1, keepdim=True) + 1e-6)
        o = o.transpose(1, 2).reshape(1, 32, 6, 6)
        pe = attn.pe(v).repeat_interleave(2, -2).repeat_interleave(2, -1)
        assert_close(out, attn.proj(o + pe), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kwargs, match', [
    (dict(attn='linear'), 'topk=0'),
    (dict(attn='linear_relu', topk=4), 'topk=0'),
    (dict(attn='linear', topk=0, fine_in_training=True), 'fine_in_training'),
    (dict(attn='cosine'), 'attn must be'),
    (dict(impl='flash'), 'impl must be'),
    (dict(topk=-1), 'topk'),
    (dict(num_heads=3), 'multiple'),
    (dict(num_blocks=0), 'num_blocks'),
    (dict(in_channels=0), 'in_channels'),
])
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _pst(**kwargs)


@pytest.mark.parametrize('x_shape, u_shape, match', [
    ((2, 16, 14, 10), (2, 40, 7, 5), 'in_channels=24'),
    ((2, 24, 14, 10), (2, 32, 7, 5), 'upper_channels=40'),
    ((2, 24, 14, 10), (2, 40, 7, 6), r'ceil\(H/2\)'),
    ((2, 24, 14, 10), (2, 40, 14, 10), r'ceil\(H/2\)'),
    ((2, 24, 14, 10), (3, 40, 7, 5), 'batch'),
    ((24, 14, 10), (2, 40, 7, 5), '4-D'),
])
def test_bad_inputs_raise(x_shape, u_shape, match):
    model = _pst()
    with pytest.raises(ValueError, match=match):
        model(torch.randn(*x_shape), torch.randn(*u_shape))


def test_set_pst_topk_reaches_every_attention():
    model = _pst(num_blocks=3)
    assert set_pst_topk(model, 16) == 3
    assert all(b.attn.topk == 16 for b in model.blocks)
    with pytest.raises(ValueError, match='topk'):
        set_pst_topk(model, -2)


def test_width_presets():
    assert [pst_embed_channels(64, p) for p in 'nsm'] == [64, 128, 256]
    assert pst_embed_channels(1024, 'M') == 2048  # capped
    with pytest.raises(ValueError, match='preset'):
        pst_embed_channels(64, 'x')


@pytest.mark.parametrize('C, C_up, Cp', [(128, 256, 64), (256, 512, 256)])
def test_parameter_count_against_paper_formula(C, C_up, Cp):
    """Paper Sec. 3.1: ``10C'^2 + (C_up + 3C + 61)C'`` for one PSA block.

    The formula assumes the output width is 2C' (its ``2(C + C')C'`` term is
    the final 1x1 conv from concat[x, y1] = C + C' channels to 2C'). Ours is
    larger by exactly 12C': the paper counts 12C' for all BatchNorms, but our
    nine BNs (input, upper, Q, K/V (2C'), CPE, projection, MLP (2C' and C'),
    output (2C')) cover 12C' channels with a weight and a bias each = 24C'.
    The convs have no bias (BN follows each), matching the paper's terms.
    """
    model = PyramidSparseTransformer(C, C_up, 2 * Cp, Cp)
    n_params = sum(p.numel() for p in model.parameters())
    paper = 10 * Cp**2 + (C_up + 3 * C + 61) * Cp
    assert n_params == paper + 12 * Cp
    # Each option's extra parameters are exactly the layer it adds.
    gated = PyramidSparseTransformer(C, C_up, 2 * Cp, Cp, gate=True)
    assert sum(p.numel() for p in gated.parameters()) == \
        n_params + 2 * Cp * Cp + Cp
    unshared = PyramidSparseTransformer(C, C_up, 2 * Cp, Cp, share_kv=False)
    assert sum(p.numel() for p in unshared.parameters()) == \
        n_params + 2 * Cp * Cp + 4 * Cp


def test_psa_block_residuals():
    block = PSABlock(32, num_heads=1, topk=0).eval()
    # Zeroed output projections make both residual branches the identity.
    for conv in (block.attn.proj, block.mlp[1]):
        torch.nn.init.zeros_(conv.bn.weight)
        torch.nn.init.zeros_(conv.bn.bias)
    x = torch.randn(1, 32, 6, 6)
    assert_close(block(x, torch.randn(1, 32, 3, 3)), x)
