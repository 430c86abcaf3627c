# Copyright (c) pst-mm contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import pst_mm.models.layers.psa_kernel as psa
import pst_mm.models.layers.pst as pst_module
from pst_mm.models.layers import (PST_CFG_DEFAULTS, PSABlock,
                                  PyramidSparseAttention,
                                  PyramidSparseTransformer, set_pst_topk)


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


@pytest.mark.parametrize('kwargs', [
    dict(), dict(share_kv=False), dict(fusion='gate')])
def test_gradients_reach_every_trainable_parameter(kwargs):
    """Coarse-only training: every trainable parameter gets a gradient (DDP
    with find_unused_parameters=False requires it); the fine-only gate and
    fine K/V are frozen, and nothing else is."""
    model = _pst(num_blocks=2, **kwargs).train()
    x, u = _inputs()
    model(x, u).square().mean().backward()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {
        n for n, _ in model.named_parameters()
        if '.gate.' in n or '.kv_fine.' in n}
    assert bool(frozen) == (kwargs.get('fusion') == 'gate'
                            or 'share_kv' in kwargs)
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert p.grad is None, name


def test_fine_in_training_gradients_reach_gate_and_separate_fine_kv():
    model = _pst(topk=4, fine_in_training=True, share_kv=False,
                 fusion='gate').train()
    assert model.blocks[0].attn.gate is not None
    x, u = _inputs()
    model(x, u).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.requires_grad, name
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # switching the fine branch off later freezes them again
    attn = model.blocks[0].attn
    attn.fine_in_training = False
    assert not any(p.requires_grad for p in attn.gate.parameters())
    assert not any(p.requires_grad for p in attn.kv_fine.parameters())


@pytest.mark.parametrize('kwargs', [
    dict(fusion='gate'),
    dict(fusion='sum'),
    dict(fusion='mean'),
    dict(fusion='refine', fine_in_training=True),
    dict(score='mean_logit'),
    dict(cpe_upsample='nearest'),
    dict(concat_input='raw'),
    dict(embed_channels=None),
    dict(weight_init='kaiming'),
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
    gated = _pst(fusion='gate').blocks[0].attn
    # One Conv1d(2 * head_dim, head_dim, 1) shared by the heads (official).
    assert isinstance(gated.gate, torch.nn.Conv1d)
    assert (gated.gate.in_channels, gated.gate.out_channels) == (64, 32)
    assert sum(p.numel() for p in gated.gate.parameters()) == \
        2 * 32 * 32 + 32
    # 'sum_norm' is the default; no rule but the gate has parameters
    for fusion in ('sum', 'mean', 'refine', 'sum_norm'):
        assert _pst(fusion=fusion).blocks[0].attn.gate is None
    assert _pst().blocks[0].attn.fusion == 'sum_norm'
    assert _pst().blocks[0].attn.kv_fine is None
    unshared = _pst(share_kv=False).blocks[0].attn
    assert unshared.kv_fine is not None and not unshared.share_kv
    assert len(_pst(num_blocks=3).blocks) == 3
    # Official token width: C' = out_channels * 0.5 unless given.
    assert _pst(embed_channels=None).embed_channels == 16
    assert _pst(embed_channels=None, expand_ratio=1.0).embed_channels == 32
    # The output conv reads in_conv(x) (C') or the raw x (C) plus the blocks.
    assert _pst().out_conv.conv.in_channels == 64 + 64
    assert _pst(concat_input='raw').out_conv.conv.in_channels == 24 + 64


def _attend_parts(attn, x, u):
    """The module's own kernel call (projections included)."""
    return attn._attend(x, u, attn.topk)[0]


@pytest.mark.parametrize('fusion',
                         ['sum', 'gate', 'mean', 'refine', 'sum_norm'])
def test_fusion_rules_compute_what_they_claim(fusion):
    x, u = _inputs(C=64, C_up=64)
    attn = _randomise_bn(
        PyramidSparseAttention(64, num_heads=2, topk=3, fusion=fusion)).eval()
    with torch.no_grad():
        parts = _attend_parts(attn, x, u)
        fused = attn.fuse(parts)
        c, f = parts.coarse, parts.fine
        if fusion == 'sum':
            expected = c + f
        elif fusion == 'mean':
            expected = (c + f) / 2
        elif fusion == 'sum_norm':
            # per query and head: the sum's direction, the coarse norm
            expected = (c + f) * (c.norm(dim=-1) / (c + f).norm(dim=-1))[
                ..., None]
            assert_close(fused.norm(dim=-1), c.norm(dim=-1))
            assert not torch.allclose(fused, c, atol=1e-3)
        elif fusion == 'gate':
            hd = 32
            B, h, N, _ = c.shape
            inp = torch.cat([c, f], -1).reshape(B * h, N, 2 * hd)
            g = torch.sigmoid(attn.gate(inp.transpose(1, 2))).transpose(1, 2)
            assert (g > 0).all() and (g < 1).all()
            g = g.reshape(B, h, N, hd)
            expected = g * f + (1 - g) * c
        else:
            # the selected keys' share of the coarse output, recomputed
            q = attn.q(x).flatten(2).reshape(2, 2, 32, -1).transpose(-2, -1)
            k_map, v_map = attn.kv(u).chunk(2, 1)
            k = k_map.flatten(2).reshape(2, 2, 32, -1).transpose(-2, -1)
            v = v_map.flatten(2).reshape(2, 2, 32, -1).transpose(-2, -1)
            a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(32), -1)
            sel = torch.zeros_like(a[..., :1, :]).scatter(
                -1, parts.indices.unsqueeze(-2), 1.0)
            mass = (a * sel).sum(-1, keepdim=True)
            expected = c - (a * sel) @ v + mass * f
        assert_close(fused, expected, rtol=1e-5, atol=1e-5)


def test_refine_output_is_a_convex_combination_of_values():
    """'refine' re-spends each query's attention mass (weights summing to 1)
    over unselected coarse values and fine values, so every output channel
    stays within the range of the values, as the coarse output a model was
    trained on does; 'sum' adds two such combinations and leaves it."""
    x, u = _inputs(C=32, C_up=32)
    attn = PyramidSparseAttention(32, num_heads=1, topk=4,
                                  fusion='refine').eval()
    with torch.no_grad():
        parts = _attend_parts(attn, x, u)
        out = attn.fuse(parts)
        v_all = torch.cat([attn.kv(u).chunk(2, 1)[1].flatten(2),
                           attn.kv(x).chunk(2, 1)[1].flatten(2)], -1)
        lo, hi = v_all.min(-1).values, v_all.max(-1).values  # (B, d)
        assert (out <= hi[:, None, None] + 1e-5).all()
        assert (out >= lo[:, None, None] - 1e-5).all()
        # 'sum' adds two convex combinations and leaves that range.
        total = parts.coarse + parts.fine
        assert ((total > hi[:, None, None] + 1e-3) |
                (total < lo[:, None, None] - 1e-3)).any()


def test_cpe_upsample_bilinear_and_nearest():
    x, u = _inputs(C=32, C_up=32, H=10, W=14)
    outs = {}
    for mode in ('bilinear', 'nearest'):
        torch.manual_seed(0)
        attn = _randomise_bn(PyramidSparseAttention(
            32, num_heads=1, topk=0, cpe_upsample=mode)).eval()
        with torch.no_grad():
            pe = attn.pe(attn.kv(u).chunk(2, 1)[1])
            parts = _attend_parts(attn, x, u)
            o = parts.coarse.transpose(-2, -1).reshape(2, 32, 10, 14)
            if mode == 'bilinear':
                up = F.interpolate(pe, size=(10, 14), mode='bilinear',
                                   align_corners=False)
            else:
                rows, cols = torch.arange(10) // 2, torch.arange(14) // 2
                up = pe[:, :, rows][..., cols]
            assert_close(attn(x, u), attn.proj(o + up), rtol=1e-5, atol=1e-5)
            outs[mode] = attn(x, u)
    # a non-constant V: the two upsamplings differ
    assert not torch.allclose(outs['bilinear'], outs['nearest'], atol=1e-4)


def test_trunc_normal_init_survives_neck_init_cfg():
    model = _pst(init_cfg=dict(type='Kaiming', layer='Conv2d'))
    model.init_weights()
    for block in model.blocks:
        for name, m in block.named_modules():
            if isinstance(m, torch.nn.Conv2d):
                # std 0.02 (bounds +-2 absolute, as the official call)
                assert m.weight.abs().max() < 0.12, name
                if m.weight.numel() > 500:
                    assert 0.018 < m.weight.std() < 0.022, name
    # the PST's own input/output convs keep the enclosing init_cfg (Kaiming,
    # fan_out: std sqrt(2 / 64) = 0.18 for in_conv)
    assert model.in_conv.conv.weight.std() > 0.1
    kaiming = _pst(weight_init='kaiming')
    assert kaiming.blocks[0].attn.q.conv.weight.std() > 0.1


def test_checkpoint_of_another_layout_fails_loudly():
    from mmengine.runner.checkpoint import load_state_dict
    raw = _pst(concat_input='raw').state_dict()
    model = _pst()
    with pytest.raises(ValueError, match=r'another PST layout.*out_conv'):
        model.load_state_dict(raw, strict=False)
    # mmengine's loader (strict=False, as load_from uses) fails too.
    with pytest.raises(ValueError, match='out_conv.conv.weight'):
        load_state_dict(model, raw, strict=False)
    wide = _pst(embed_channels=32, num_heads=1).state_dict()
    with pytest.raises(ValueError, match='Shape mismatches'):
        load_state_dict(model, wide, strict=False)
    # the same layout loads
    load_state_dict(model, _pst().state_dict(), strict=True)


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
        pe = F.interpolate(attn.pe(v), size=(6, 6), mode='bilinear',
                           align_corners=False)
        assert_close(out, attn.proj(o + pe), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kwargs, match', [
    (dict(attn='linear'), 'topk=0'),
    (dict(attn='linear_relu', topk=4), 'topk=0'),
    (dict(attn='linear', topk=0, fine_in_training=True), 'fine_in_training'),
    (dict(attn='cosine'), 'attn must be'),
    (dict(impl='flash'), 'impl must be'),
    (dict(fusion='product'), r"fusion must be one of \('sum', 'gate', "
     r"'mean', 'refine', 'sum_norm'\), got 'product'"),
    (dict(score='max'), r"score must be one of .*got 'max'"),
    (dict(cpe_upsample='bicubic'), r"cpe_upsample must be one of .*'bicubic'"),
    (dict(concat_input='x'), r"concat_input must be one of \('embed', "
     r"'raw'\)"),
    (dict(weight_init='xavier'), 'weight_init must be one of'),
    (dict(embed_channels=None, expand_ratio=0), 'expand_ratio'),
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


@pytest.mark.parametrize('x_shape, u_shape, match', [
    ((2, 32, 14, 10), (2, 32, 7, 5), 'x has 32 channels, expected '
     'embed_dims=64'),
    ((2, 64, 14, 10), (2, 64, 7, 6), r'upper must be ceil\(H/2\) x '
     r'ceil\(W/2\) = \(7, 5\) for x of 14x10, got 7x6'),
    ((2, 64, 14, 10), (1, 64, 7, 5), 'batch sizes differ: x 2, upper 1'),
    ((64, 14, 10), (2, 64, 7, 5), '4-D'),
])
def test_attention_checks_its_own_inputs(x_shape, u_shape, match):
    attn = PyramidSparseAttention(64, num_heads=2)
    x, u = torch.randn(*x_shape), torch.randn(*u_shape)
    with pytest.raises(ValueError, match=match):
        attn(x, u)
    with pytest.raises(ValueError, match=match):
        attn.selection(x, u)
    with pytest.raises(ValueError, match=match):
        PSABlock(64, num_heads=2)(x, u)
    with pytest.raises(ValueError, match='topk must be a non-negative int'):
        attn.selection(torch.randn(1, 64, 4, 4), torch.randn(1, 64, 2, 2),
                       topk=2.5)


def test_inputs_are_checked_once_per_forward(monkeypatch):
    """The PST checks its inputs; its blocks, their attention and the
    kernel trust them (fine attention on, two blocks)."""
    calls = []
    check = pst_module.check_fine_and_upper
    monkeypatch.setattr(
        pst_module, 'check_fine_and_upper',
        lambda *a: calls.append('module') or check(*a))
    monkeypatch.setattr(psa, '_check_inputs',
                        lambda *a: calls.append('kernel'))
    model = _pst(num_blocks=2, topk=4).eval()
    x, u = _inputs()
    with torch.no_grad():
        out = model(x, u)
        assert calls == ['module']
        # the caller vouches for the inputs: no check at all
        assert_close(model(x, u, checked=True), out)
    assert calls == ['module']


def test_pst_cfg_defaults_come_from_the_signatures():
    assert dict(PST_CFG_DEFAULTS) == dict(
        num_blocks=1, mlp_ratio=2.0, concat_input='embed',
        weight_init='trunc_normal', residual_init=None, conv_init='kaiming',
        num_heads=None, topk=8, score_thr=1e-6, score='mean_prob',
        fusion='sum_norm', cpe_upsample='bilinear', fine_in_training=False,
        share_kv=True, attn='softmax', impl='auto', pe_kernel=7)


@pytest.mark.parametrize('C, C_up, Cp', [(128, 256, 64), (256, 512, 256)])
def test_parameter_count_against_paper_formula(C, C_up, Cp):
    """Paper Sec. 3.1: ``10C'^2 + (C_up + 3C + 61)C'`` for one PSA block.

    The formula assumes the output width is 2C' and an output conv reading
    concat[x, y1] = C + C' channels (``concat_input='raw'``). Ours is larger
    by exactly 12C': the paper counts 12C' for all BatchNorms, but our nine
    BNs (input, upper, Q, K/V (2C'), CPE, projection, MLP (2C' and C'),
    output (2C')) cover 12C' channels with a weight and a bias each = 24C'.
    The convs have no bias (BN follows each), matching the paper's terms.
    """
    def count(**kw):
        m = PyramidSparseTransformer(C, C_up, 2 * Cp, Cp, **kw)
        return sum(p.numel() for p in m.parameters())

    n_params = count(concat_input='raw', fusion='sum')
    paper = 10 * Cp**2 + (C_up + 3 * C + 61) * Cp
    assert n_params == paper + 12 * Cp
    # Each option's extra parameters are exactly the layer it adds: the
    # official gate 2*hd*hd + hd (hd = 32), the official output conv (the
    # default) reading in_conv(x) (C') instead of x (C), a separate fine
    # K/V conv + BN.
    gate = 2 * 32 * 32 + 32
    assert count(concat_input='raw') == n_params
    assert count(concat_input='raw', fusion='gate') == n_params + gate
    assert count() == n_params + (Cp - C) * 2 * Cp
    assert count(fusion='gate') == n_params + gate + (Cp - C) * 2 * Cp
    assert count(concat_input='raw', fusion='sum', share_kv=False) == \
        n_params + 2 * Cp * Cp + 4 * Cp


def test_psa_block_residuals():
    block = PSABlock(32, num_heads=1, topk=0).eval()
    # Zeroed output projections make both residual branches the identity.
    for conv in (block.attn.proj, block.mlp[1]):
        torch.nn.init.zeros_(conv.bn.weight)
        torch.nn.init.zeros_(conv.bn.bias)
    x = torch.randn(1, 32, 6, 6)
    assert_close(block(x, torch.randn(1, 32, 3, 3)), x)


def _branch_conv_grads(block, x, u):
    """Gradient norms of every conv inside the two residual branches after
    one backward pass in training mode."""
    block.train()
    block.zero_grad()
    block(x, u).square().mean().backward()
    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    return [c.weight.grad.norm().item() for c in convs]


@pytest.mark.parametrize('weight_init', ['trunc_normal', 'kaiming'])
def test_residual_init_zero_starts_as_identity_and_starves_the_branches(
        weight_init):
    """residual_init=0.0 (the PSTFPN default before the held-out study):
    the block is the identity, and only the two BN scales get a gradient;
    every conv of the attention and the MLP gets exactly none, so under SGD
    the branches can only start learning once those scales have grown
    (configs/pst_det/README.md, held-out study)."""
    torch.manual_seed(0)
    block = PSABlock(64, num_heads=2, topk=4, weight_init=weight_init,
                     residual_init=0.0)
    block.init_weights()  # the block's own init runs after its children's
    x, u = torch.randn(2, 64, 8, 6), torch.randn(2, 64, 4, 3)
    with torch.no_grad():
        assert_close(block.eval()(x, u), x)
    assert _branch_conv_grads(block, x, u) == [0.0] * 6  # q kv pe proj, mlp
    for last in (block.attn.proj, block.mlp[-1]):
        assert last.norm.weight.grad.abs().sum() > 0
    # the BN default (None): the branches are at full scale
    plain = PSABlock(64, num_heads=2, topk=4, weight_init=weight_init).eval()
    assert plain.attn.proj.norm.weight.eq(1).all()
    with torch.no_grad():
        assert not torch.allclose(plain(x, u), x, atol=1e-3)


def test_residual_init_small_scale_is_near_identity_and_trains():
    """residual_init=0.1 (the PSTFPN default): each branch enters the
    residual sum at a tenth of a BN's unit scale, so the block starts close
    to the identity, and every conv inside the branches gets a gradient from
    the first step."""
    x, u = torch.randn(2, 64, 8, 6), torch.randn(2, 64, 4, 3)
    deltas = {}
    for scale in (0.1, 1.0):
        torch.manual_seed(0)
        block = PSABlock(64, num_heads=2, topk=4, weight_init='kaiming',
                         residual_init=scale)
        block.init_weights()
        for last in (block.attn.proj, block.mlp[-1]):
            assert last.norm.weight.eq(scale).all()
        assert block.mlp[0].norm.weight.eq(1).all()
        with torch.no_grad():
            deltas[scale] = ((block.eval()(x, u) - x).norm() /
                             x.norm()).item()
        assert all(g > 0 for g in _branch_conv_grads(block, x, u))
    # the attention branch's output is linear in its final BN scale (the
    # MLP's input moves with it, so the whole block only nearly so)
    assert 0 < deltas[0.1] < 0.25
    assert deltas[0.1] == pytest.approx(deltas[1.0] * 0.1, rel=0.3)


def test_residual_init_rejects_bad_values_and_the_old_keyword():
    for bad in (-0.1, 'zero', True):
        with pytest.raises(ValueError, match='residual_init must be None or '
                           'a number >= 0'):
            PSABlock(32, num_heads=1, residual_init=bad)
    with pytest.raises(TypeError, match=r'zero_init_residual was replaced '
                       r'by residual_init \(zero_init_residual=True is '
                       r'residual_init=0.0\)'):
        PSABlock(32, num_heads=1, zero_init_residual=True)
    from pst_mm.models.necks import PSTFPN
    with pytest.raises(TypeError, match=r'zero_init_residual was replaced '
                       r'by pst_cfg=dict\(residual_init=\.\.\.\)'):
        PSTFPN([16, 32, 64], 32, num_outs=3, zero_init_residual=False)
    with pytest.raises(ValueError, match=r"unknown pst_cfg key "
                       r"'zero_init_residual' \(zero_init_residual was "
                       r'replaced by residual_init'):
        PSTFPN([16, 32, 64], 32, num_outs=3,
               pst_cfg=dict(zero_init_residual=False))


def test_residual_init_survives_the_neck_init_cfg():
    from pst_mm.models.necks import PSTFPN
    for scale, expect in ((0.0, 0.0), (None, 1.0), (0.1, 0.1)):
        neck = PSTFPN([16, 32, 64], 32, num_outs=3,
                      pst_cfg=dict(residual_init=scale))
        neck.init_weights()  # the neck's Kaiming init_cfg runs first
        for pst in neck.top_down_pst:
            for block in pst.blocks:
                assert block.residual_init == scale
                assert block.attn.proj.norm.weight.eq(expect).all()
                assert block.mlp[-1].norm.weight.eq(expect).all()
                assert block.mlp[0].norm.weight.eq(1).all()
