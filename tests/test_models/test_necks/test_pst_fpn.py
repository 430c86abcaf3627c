# Copyright (c) pst-mm contributors. All rights reserved.
import pytest
import torch
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope

import pst_mm  # noqa: F401
from conftest import pyramid_feats
from pst_mm.models.layers import PyramidSparseTransformer
from pst_mm.models.necks import PSTFPN


@pytest.mark.parametrize('embed', [[64, 128], [128, 256], [256, 512]])
def test_embed_channels_and_output_shapes(embed):
    """The paper's N, S and M token widths."""
    neck = PSTFPN([32, 64, 128], 48, num_outs=5, embed_channels=embed,
                  add_extra_convs='on_input')
    assert neck.embed_channels == embed
    assert [m.blocks[0].attn.embed_dims for m in neck.top_down_pst] == embed
    # heads = C' / 32
    assert [m.blocks[0].attn.num_heads
            for m in neck.top_down_pst] == [c // 32 for c in embed]
    outs = neck(pyramid_feats([32, 64, 128]))
    assert [tuple(o.shape) for o in outs] == [(2, 48, 32, 40),
                                              (2, 48, 16, 20),
                                              (2, 48, 8, 10), (2, 48, 4, 5),
                                              (2, 48, 2, 3)]


@pytest.mark.parametrize('extra', [False, True, 'on_input', 'on_lateral',
                                   'on_output'])
def test_extra_levels_like_fpn(extra):
    neck = PSTFPN([16, 32, 64], 24, num_outs=5, add_extra_convs=extra)
    outs = neck(pyramid_feats([16, 32, 64], (16, 16)))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1]
    assert len(neck.extra_convs) == (2 if extra else 0)
    if extra in (True, 'on_input'):
        assert neck.extra_convs[0].conv.in_channels == 64
    elif extra:
        assert neck.extra_convs[0].conv.in_channels == 24


def test_start_level_skips_c2():
    neck = PSTFPN([8, 16, 32, 64], 24, num_outs=3, start_level=1)
    feats = pyramid_feats([8, 16, 32, 64], (32, 32))
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(2, 24, 16, 16),
                                              (2, 24, 8, 8), (2, 24, 4, 4)]


def test_odd_input_through_resnet():
    """97x131 images through a ResNet give 13x17, 7x9, 4x5 at C3-C5."""
    backbone = ResNet(18, out_indices=(1, 2, 3))
    backbone.eval()  # mmdet's ResNet.train() returns None: no chaining
    neck = PSTFPN([128, 256, 512], 32, num_outs=5,
                  add_extra_convs='on_input').eval()
    with torch.no_grad():
        feats = backbone(torch.rand(1, 3, 97, 131))
        assert [f.shape[-2:] for f in feats] == [(13, 17), (7, 9), (4, 5)]
        outs = neck(feats)
    assert [tuple(o.shape[-2:]) for o in outs] == [(13, 17), (7, 9), (4, 5),
                                                   (2, 3), (1, 2)]
    assert all(torch.isfinite(o).all() for o in outs)


def test_topk_switch_changes_only_inference():
    torch.manual_seed(0)
    neck = PSTFPN([16, 32, 64], 32, num_outs=3, pst_cfg=dict(topk=0))
    neck8 = PSTFPN([16, 32, 64], 32, num_outs=3, pst_cfg=dict(topk=8))
    neck8.load_state_dict(neck.state_dict())  # no parameters depend on topk
    assert neck8.topk == 8 and neck.topk == 0
    feats = pyramid_feats([16, 32, 64], (16, 16))
    for m in (neck, neck8):
        for bn in m.modules():
            if isinstance(bn, torch.nn.BatchNorm2d):
                bn.running_var.fill_(2.0)
                # as if trained: at init the PSA blocks' last BN scales
                # are residual_init (0.1), which shrinks the top-k's effect
                bn.weight.data.fill_(1.0)
    neck.train(), neck8.train()
    torch.testing.assert_close(neck(feats), neck8(feats))
    neck.eval(), neck8.eval()
    with torch.no_grad():
        a, b = neck(feats), neck8(feats)
    assert all(x.shape == y.shape for x, y in zip(a, b))
    assert not torch.allclose(a[0], b[0], atol=1e-5)


def test_options_reach_every_pst():
    neck = PSTFPN([16, 32, 64], 32, num_outs=3, pst_cfg=dict(
        fusion='gate', share_kv=False, num_blocks=2, impl='naive',
        score_thr=0.01, topk=4, score='mean_logit', cpe_upsample='nearest',
        concat_input='raw', weight_init='trunc_normal'))
    psts = [m for m in neck.modules()
            if isinstance(m, PyramidSparseTransformer)]
    assert len(psts) == 2
    for pst in psts:
        assert len(pst.blocks) == 2
        for attn in pst.attentions():
            assert attn.gate is not None and not attn.share_kv
            assert (attn.impl, attn.score_thr,
                    attn.topk) == ('naive', 0.01, 4)
            assert (attn.score, attn.fusion, attn.cpe_upsample) == (
                'mean_logit', 'gate', 'nearest')
        assert pst.concat_input == 'raw'
        assert all(b.weight_init == 'trunc_normal' for b in pst.blocks)
    # this neck's defaults: Kaiming init (mmdet's necks; the more stable one
    # over seeds on the demo set) and 'sum_norm', so no gate is built
    default = PSTFPN([16, 32, 64], 32, num_outs=3)
    default.init_weights()
    assert all(b.weight_init == 'kaiming' and b.residual_init == 0.1
               and b.attn.proj.norm.weight.eq(0.1).all()
               and b.mlp[-1].norm.weight.eq(0.1).all()
               for pst in default.top_down_pst for b in pst.blocks)
    assert all(a.fusion == 'sum_norm' and a.gate is None
               for pst in default.top_down_pst for a in pst.attentions())


def test_registered_in_mmdet():
    # Other tests may leave mmpretrain as the default scope.
    with DefaultScope.overwrite_default_scope('mmdet'):
        neck = MODELS.build(
            dict(type='PSTFPN', in_channels=[16, 32, 64], out_channels=8,
                 num_outs=3))
    assert isinstance(neck, PSTFPN)


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=[16, 32]), 'three levels'),
    (dict(in_channels=[8, 16, 32, 64]), 'three levels'),
    (dict(in_channels=[16, 0, 64]), 'positive'),
    (dict(num_outs=2), 'num_outs'),
    (dict(add_extra_convs='on_top'), 'add_extra_convs'),
    (dict(embed_channels=[64]), 'embed_channels'),
    (dict(pst_cfg=dict(attn='linear')), 'topk=0'),
    (dict(pst_cfg=dict(fusion='product')), 'fusion must be one of'),
    (dict(pst_cfg=dict(top_k=8)), r"^PSTFPN: unknown pst_cfg key 'top_k'; "
     r'allowed keys: attn, concat_input, conv_init, cpe_upsample, '
     r'fine_in_training, fusion, impl, mlp_ratio, num_blocks, num_heads, '
     r'pe_kernel, residual_init, score, score_thr, share_kv, topk, '
     r'weight_init$'),
    (dict(pst_cfg=dict(embed_channels=64)),
     r"unknown pst_cfg key 'embed_channels' \(C' is the neck's own "
     r'embed_channels\)'),
])
def test_bad_arguments_raise(kwargs, match):
    cfg = dict(in_channels=[16, 32, 64], out_channels=8, num_outs=3)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        PSTFPN(**cfg)


@pytest.mark.parametrize('kwargs, match', [
    (dict(topk=8), r"^PSTFPN: 'topk' is now pst_cfg=dict\(topk=\.\.\.\)$"),
    (dict(fusion='gate'), r"'fusion' is now pst_cfg=dict\(fusion=\.\.\.\)"),
    (dict(num_blocks=2), r"'num_blocks' is now pst_cfg=dict"),
    (dict(preset='s'), r"^PSTFPN: 'preset' was removed: set C' with "
     r"embed_channels=\(64, 128\) for 'n', \(128, 256\) for 's' or "
     r"\(256, 512\) for 'm'$"),
    (dict(base_embed_channels=(32, 64)), "'base_embed_channels' was removed: "
     "set C' with embed_channels"),
    (dict(zero_init_residual=True), r'zero_init_residual was replaced by '
     r'pst_cfg=dict\(residual_init=\.\.\.\)'),
    (dict(upsample_mode='nearest'), r"^PSTFPN got unexpected keyword "
     r"arguments \['upsample_mode'\]$"),
])
def test_old_keywords_name_the_new_spelling(kwargs, match):
    with pytest.raises(TypeError, match=match):
        PSTFPN([16, 32, 64], 8, num_outs=3, **kwargs)


def test_defaults_live_in_one_place():
    """The neck's own defaults over the PST's signature defaults; the
    config's pst_cfg over both."""
    neck = PSTFPN([16, 32, 64], 8, num_outs=3,
                  pst_cfg=dict(residual_init=None, topk=2))
    assert dict(PSTFPN.pst_defaults) == dict(weight_init='kaiming',
                                             residual_init=0.1)
    for pst in neck.top_down_pst:
        assert [(b.weight_init, b.residual_init) for b in pst.blocks] == [
            ('kaiming', None)]
        assert [(a.topk, a.fusion, a.score) for a in pst.attentions()] == [
            (2, 'sum_norm', 'mean_prob')]
    assert neck.topk == 2


def test_pst_inputs_are_checked_once(monkeypatch):
    """The neck checks its inputs; its PSTs, their attention and the kernel
    do not check them again."""
    import pst_mm.models.layers.psa_kernel as psa
    import pst_mm.models.layers.pst as pst
    calls = []
    monkeypatch.setattr(pst, 'check_fine_and_upper',
                        lambda *a: calls.append('pst or psa'))
    monkeypatch.setattr(psa, '_check_inputs',
                        lambda *a: calls.append('kernel'))
    neck = PSTFPN([16, 32, 64], 8, num_outs=3,
                  pst_cfg=dict(topk=4, num_blocks=2)).eval()
    with torch.no_grad():
        neck(pyramid_feats([16, 32, 64], (16, 16)))
    assert calls == []


def test_bad_inputs_raise():
    neck = PSTFPN([16, 32, 64], 8, num_outs=3)
    with pytest.raises(ValueError, match='expects 3 input levels'):
        neck(pyramid_feats([16, 32]))
    with pytest.raises(ValueError, match=r'level 1 .*\(B, 32, H, W\)'):
        neck(pyramid_feats([16, 48, 64]))
    feats = pyramid_feats([16, 32, 64], (16, 16))
    feats[2] = torch.rand(2, 64, 3, 3)  # should be 4x4
    with pytest.raises(ValueError, match='halve'):
        neck(feats)
