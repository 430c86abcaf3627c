# Copyright (c) pst-mm contributors. All rights reserved.
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.models.backbones import ResNet
from mmpretrain.registry import MODELS

import pst_mm  # noqa: F401
from pst_mm.models.layers import set_pst_topk
from pst_mm.models.necks import PSTClsNeck


@pytest.mark.parametrize('hw', [(14, 14), (7, 9)])
def test_output_is_one_pooled_tensor(hw):
    neck = PSTClsNeck((32, 64), channels=64, out_channels=64)
    c4 = torch.rand(2, 32, *hw)
    c5 = torch.rand(2, 64, (hw[0] + 1) // 2, (hw[1] + 1) // 2)
    outs = neck((c4, c5))
    assert isinstance(outs, tuple) and len(outs) == 1
    assert outs[0].shape == (2, 64)
    # A longer tuple (e.g. out_indices=(1, 2, 3)) uses its last two levels.
    assert neck((torch.rand(2, 16, 28, 28), c4, c5))[0].shape == (2, 64)


def test_out_channels_and_registry():
    # Other tests may leave mmdet as the default scope.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        neck = MODELS.build(
            dict(type='PSTClsNeck', in_channels=(32, 64), channels=64,
                 out_channels=100))
    assert isinstance(neck, PSTClsNeck)
    out = neck((torch.rand(1, 32, 8, 8), torch.rand(1, 64, 4, 4)))
    assert out[0].shape == (1, 100)
    # official token width: channels * 0.5
    assert neck.pst.blocks[0].attn.embed_dims == 32
    assert neck.pst.blocks[0].attn.num_heads == 1


def test_resnet18_shapes_and_topk_switch():
    backbone = ResNet(18, out_indices=(2, 3))
    backbone.eval()
    neck = PSTClsNeck((256, 512), channels=256, out_channels=512).eval()
    with torch.no_grad():
        feats = backbone(torch.rand(2, 3, 224, 224))
        fine = neck(feats)[0]
        set_pst_topk(neck, 0)
        coarse = neck(feats)[0]
    assert fine.shape == coarse.shape == (2, 512)
    assert not torch.allclose(fine, coarse)


def test_gradients_reach_every_parameter():
    neck = PSTClsNeck((32, 64), channels=64).train()
    out = neck((torch.rand(2, 32, 8, 8), torch.rand(2, 64, 4, 4)))[0]
    out.square().mean().backward()
    for name, p in neck.named_parameters():
        if '.gate.' in name:  # fine-only, frozen when trained coarse-only
            assert not p.requires_grad and p.grad is None, name
            continue
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=(32, )), 'two levels'),
    (dict(in_channels=(32, 64, 128)), 'two levels'),
    (dict(in_channels=(32, -1)), 'two positive'),
    (dict(pst_cfg=dict(attn='linear')), 'topk=0'),
    (dict(pst_cfg=dict(topk=-3)), 'topk'),
    (dict(channels=0), 'channels must be a positive int'),
    (dict(pst_cfg=dict(fusion='concat')), 'fusion must be one of'),
    (dict(pst_cfg=dict(expand_ratio=0.25)),
     r"^PSTClsNeck: unknown pst_cfg key 'expand_ratio' \(C' is the neck's "
     r"own embed_channels\); allowed keys: attn, "),
])
def test_bad_arguments_raise(kwargs, match):
    cfg = dict(in_channels=(32, 64), channels=64)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        PSTClsNeck(**cfg)


@pytest.mark.parametrize('kwargs, match', [
    (dict(topk=0), r"^PSTClsNeck: 'topk' is now pst_cfg=dict\(topk=\.\.\.\)$"),
    (dict(weight_init='kaiming'), r"'weight_init' is now pst_cfg=dict"),
    (dict(expand_ratio=0.25), r"^PSTClsNeck: 'expand_ratio' was removed: set "
     r"C' with embed_channels=int\(channels \* expand_ratio\) \(None is "
     r"channels // 2\)$"),
])
def test_old_keywords_name_the_new_spelling(kwargs, match):
    with pytest.raises(TypeError, match=match):
        PSTClsNeck((32, 64), channels=64, **kwargs)


def test_pst_cfg_over_the_neck_defaults():
    neck = PSTClsNeck((32, 64), channels=64, embed_channels=16,
                      pst_cfg=dict(fusion='gate', topk=3, num_blocks=2))
    assert neck.pst.embed_channels == 16 and len(neck.pst.blocks) == 2
    options = [(b.weight_init, b.residual_init, b.attn.fusion, b.attn.topk)
               for b in neck.pst.blocks]
    assert options == [('trunc_normal', None, 'gate', 3)] * 2
    assert neck.topk == 3


def test_bad_inputs_raise():
    neck = PSTClsNeck((32, 64), channels=64)
    with pytest.raises(ValueError, match='out_indices=\\(2, 3\\)'):
        neck((torch.rand(1, 64, 4, 4), ))
    with pytest.raises(ValueError, match=r'C4 has shape .*\(B, 32, H, W\)'):
        neck((torch.rand(1, 16, 8, 8), torch.rand(1, 64, 4, 4)))
    with pytest.raises(ValueError, match=r'C5 has shape'):
        neck((torch.rand(1, 32, 8, 8), torch.rand(1, 32, 4, 4)))
    with pytest.raises(ValueError, match=r'ceil\(H/2\)'):
        neck((torch.rand(1, 32, 8, 8), torch.rand(1, 64, 5, 4)))
    with pytest.raises(ValueError, match='batch sizes differ: C4 1, C5 2'):
        neck((torch.rand(1, 32, 8, 8), torch.rand(2, 64, 4, 4)))


def test_official_topology():
    """concat[PST(C4, C5), C4] -> 3x3 s2 -> concat[., C5] -> 1x1, unpooled
    for the conv-before-pool head."""
    neck = PSTClsNeck((32, 64), channels=16, global_pool=False).eval()
    assert neck.pst.out_channels == 16 and neck.pst.embed_channels == 8
    assert neck.downsample.conv.in_channels == 16 + 32
    assert neck.downsample.conv.stride == (2, 2)
    assert neck.fuse.conv.in_channels == 16 + 64
    c4, c5 = torch.rand(2, 32, 8, 10), torch.rand(2, 64, 4, 5)
    with torch.no_grad():
        out = neck((c4, c5))[0]
        x = torch.cat([neck.pst(c4, c5), c4], 1)
        expected = neck.fuse(torch.cat([neck.downsample(x), c5], 1))
    assert out.shape == (2, 16, 4, 5)
    assert torch.equal(out, expected)
    no_c4 = PSTClsNeck((32, 64), channels=16, concat_c4=False)
    assert no_c4.downsample.conv.in_channels == 16
    assert neck.pst.blocks[0].weight_init == 'trunc_normal'
    kaiming = PSTClsNeck((32, 64), channels=16,
                         pst_cfg=dict(weight_init='kaiming'))
    assert kaiming.pst.blocks[0].weight_init == 'kaiming'


def test_checkpoint_of_another_layout_fails_loudly():
    from mmengine.runner.checkpoint import load_state_dict
    old = PSTClsNeck((32, 64), channels=64, concat_c4=False).state_dict()
    with pytest.raises(ValueError, match='another PST-CLS layout'):
        load_state_dict(PSTClsNeck((32, 64), channels=64), old, strict=False)
