# Copyright (c) pst-mm contributors. All rights reserved.
"""SPA block and SPT backbone: equality to Swin in the degenerate case,
checkpoint loading, selection semantics, gradients, bad input."""
import pytest
import torch
from mmdet.models.backbones import SwinTransformer
from mmdet.models.backbones.swin import SwinBlock
from mmengine.config import ConfigDict

from pst_mm.models.backbones import SPT, SPABlock

TINY = dict(
    embed_dims=32, depths=(2, 2, 4, 2), num_heads=(1, 2, 4, 8),
    window_size=3, drop_path_rate=0., init_cfg=None)


def _tiny_spt(**kw):
    torch.manual_seed(0)
    model = SPT(**{**TINY, **kw})
    model.init_weights()
    return model


@pytest.mark.parametrize('shift', [False, True])
@pytest.mark.parametrize('bias', [False, True])
def test_all_selected_spa_equals_swin_block(shift, bias):
    torch.manual_seed(0)
    swin = SwinBlock(16, 2, 32, window_size=3, shift=shift).eval()
    table = swin.attn.w_msa.relative_position_bias_table
    with torch.no_grad():
        table.copy_(torch.randn_like(table) if bias else 0 * table)
    spa = SPABlock(16, 2, 32, window_size=3, shift=shift, gating=False,
                   rel_pos_bias=bias).eval()
    missing, unexpected = spa.load_state_dict(swin.state_dict(), False)
    assert missing == ['gate.weight', 'gate.bias'] and not unexpected
    with torch.no_grad():  # every token selected
        spa.gate.weight.zero_()
        spa.gate.bias.fill_(10.)
    x = torch.randn(2, 36, 16)
    with torch.no_grad():
        out, s, sel = spa(x, (6, 6))
        ref = swin(x, (6, 6))
    assert sel.all() and s.shape == (2, 1, 6, 6)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_nothing_selected_is_ffn_only():
    spa = SPABlock(16, 2, 32, window_size=3).eval()
    with torch.no_grad():
        spa.gate.weight.zero_()
        spa.gate.bias.fill_(-10.)
    x = torch.randn(2, 20, 16)
    with torch.no_grad():
        out, _, sel = spa(x, (4, 5))
        ref = spa.ffn(spa.norm2(x), identity=x)
    assert not sel.any()
    torch.testing.assert_close(out, ref)


def test_shapes_match_swin_and_scores_follow_patch_merging():
    spt = _tiny_spt().eval()
    swin = SwinTransformer(**TINY)
    swin.eval()  # mmdet's train() returns None
    x = torch.randn(2, 3, 50, 66)
    with torch.no_grad():
        outs, sel = spt(x, return_select=True)
        ref = swin(x)
    assert [o.shape for o in outs] == [o.shape for o in ref]
    # gate0 at stride 8, four stage-3 blocks at 16, two stage-4 at 32
    assert sel.strides == [8, 16, 16, 16, 16, 32, 32]
    assert [tuple(s.shape[-2:]) for s in sel.logits] == \
        [(7, 9)] + [(4, 5)] * 4 + [(2, 3)] * 2
    assert sel.stages == [2, 2, 2, 2, 3, 3]
    assert set(sel.ratios) == {'select_ratio_s3', 'select_ratio_s4'}
    # eval selection is sigmoid(s) > thr, deterministic
    for s, m in zip(sel.logits[1:], sel.masks):
        assert torch.equal(m, torch.sigmoid(s[:, 0]) > 0.01)
    with torch.no_grad():
        outs2 = spt(x)
    for a, b in zip(outs, outs2):
        assert torch.equal(a, b)


def test_swin_checkpoint_loads_with_only_new_keys_missing(tmp_path):
    torch.manual_seed(1)
    swin = SwinTransformer(**{**TINY, 'depths': (2, 2, 2, 2)})
    path = tmp_path / 'swin.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in swin.state_dict().items()}}, path)
    spt = SPT(**{**TINY, 'init_cfg': None})
    missing, unexpected = spt.load_state_dict(swin.state_dict(), False)
    assert not unexpected
    new = {'gate0.0.weight', 'gate0.0.bias', 'gate0.1.weight', 'gate0.1.bias'}
    new |= {f'stages.{i}.blocks.{j}.gate.{p}' for i, n in ((2, 4), (3, 2))
            for j in range(n) for p in ('weight', 'bias')}
    extra = {k for k in spt.state_dict() if k.startswith((
        'stages.2.blocks.2.', 'stages.2.blocks.3.'))} - new
    assert set(missing) == new | extra
    # through mmdet's own pretrained loading (init_cfg)
    init_cfg = ConfigDict(type='Pretrained', checkpoint=str(path))
    spt = SPT(**{**TINY, 'init_cfg': init_cfg})
    spt.init_weights()
    for k, v in swin.state_dict().items():
        assert torch.equal(spt.state_dict()[k], v), k


def test_gate_gets_task_gradient_without_select_loss():
    spt = _tiny_spt().train()
    outs = spt(torch.randn(2, 3, 64, 64))
    # a task-like loss (squares of LayerNorm outputs would be constant)
    g = torch.Generator().manual_seed(0)
    sum((o * torch.randn(o.shape, generator=g)).mean() for o in outs
        ).backward()
    grads = [b.gate.weight.grad.abs().max() for i in (2, 3)
             for b in spt.stages[i].blocks]
    assert min(grads) > 1e-4, grads


def test_training_noise_is_seeded():
    spt = _tiny_spt(select_thr=0.5).train()
    x = torch.randn(2, 3, 64, 64)

    def masks(seed):
        torch.manual_seed(seed)
        _, sel = spt(x, return_select=True)
        return torch.cat([m.flatten() for m in sel.masks])

    assert torch.equal(masks(3), masks(3))
    assert not torch.equal(masks(3), masks(4))


def test_pack_per_image_is_batch_independent():
    spt = _tiny_spt(pack_per_image=True, select_thr=0.5).eval()
    with torch.no_grad():
        for block in spt.stages[2].blocks:  # a partial selection
            block.gate.weight.normal_(0, 1)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        both = spt(x)
        one = spt(x[1:])
        _, sel = spt(x, return_select=True)
    assert 0 < float(sel.ratios['select_ratio_s3']) < 1
    for a, b in zip(both, one):
        torch.testing.assert_close(a[1:], b, atol=1e-5, rtol=1e-5)


def test_no_leakage_between_images():
    # containers span images (the paper's packing): perturbing image 2
    # leaves image 1 unchanged
    spt = _tiny_spt(select_thr=0.5).eval()
    with torch.no_grad():
        for i in (2, 3):
            for block in spt.stages[i].blocks:  # a partial selection
                block.gate.weight.normal_(0, 1)
    x = torch.randn(3, 3, 64, 64)
    x2 = x.clone()
    x2[1] += torch.randn_like(x2[1])
    with torch.no_grad():
        a, sel = spt(x, return_select=True)
        b = spt(x2)
    assert 0 < float(sel.ratios['select_ratio_s3']) < 1
    for o1, o2 in zip(a, b):
        torch.testing.assert_close(o1[0], o2[0], atol=1e-6, rtol=1e-6)
        assert not torch.allclose(o1[1], o2[1])


def test_outputs_are_a_tuple_for_mmpretrain_necks():
    from mmpretrain.models.necks import GlobalAveragePooling
    spt = _tiny_spt(out_indices=(3, )).eval()
    with torch.no_grad():
        outs = spt(torch.randn(2, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert GlobalAveragePooling()(outs)[0].shape == (2, 256)


def test_registries_and_swin_t_parameter_count():
    from mmdet.registry import MODELS
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    assert PRETRAIN_MODELS.get('SPT') is SPT and MODELS.get('SPT') is SPT
    # SPT-T/12 (App. B.2): Swin-T's depths, only the gates added
    spt = MODELS.build(dict(type='SPT', depths=(2, 2, 6, 2), init_cfg=None))
    assert [len(s.blocks) for s in spt.stages] == [2, 2, 6, 2]
    swin_t = sum(p.numel() for p in SwinTransformer().parameters())
    gates = sum(p.numel() for n, p in spt.named_parameters() if 'gate' in n)
    assert sum(p.numel() for p in spt.parameters()) == swin_t + gates


@pytest.mark.parametrize('kw,name', [
    (dict(container_len=8), 'container_len'),
    (dict(container_len=0), 'container_len'),
    (dict(select_thr=1.0), 'select_thr'),
    (dict(select_thr=0.), 'select_thr'),
    (dict(num_heads=(1, 2, 4)), 'num_heads'),
    (dict(spa_stages=(1, 2)), 'spa_stages'),
    (dict(noise='normal'), 'noise'),
    (dict(tau=0.), 'tau'),
])
def test_bad_arguments(kw, name):
    with pytest.raises(ValueError, match=name):
        SPT(**{**TINY, **kw})
