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
    neck = PSTClsNeck((32, 64), embed_channels=64)
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
            dict(type='PSTClsNeck', in_channels=(32, 64), embed_channels=32,
                 out_channels=100))
    assert isinstance(neck, PSTClsNeck)
    out = neck((torch.rand(1, 32, 8, 8), torch.rand(1, 64, 4, 4)))
    assert out[0].shape == (1, 100)
    assert neck.pst.blocks[0].attn.embed_dims == 32
    assert neck.pst.blocks[0].attn.num_heads == 1


def test_resnet18_shapes_and_topk_switch():
    backbone = ResNet(18, out_indices=(2, 3))
    backbone.eval()
    neck = PSTClsNeck((256, 512), embed_channels=256).eval()
    with torch.no_grad():
        feats = backbone(torch.rand(2, 3, 224, 224))
        fine = neck(feats)[0]
        set_pst_topk(neck, 0)
        coarse = neck(feats)[0]
    assert fine.shape == coarse.shape == (2, 512)
    assert not torch.allclose(fine, coarse)


def test_gradients_reach_every_parameter():
    neck = PSTClsNeck((32, 64), embed_channels=32).train()
    out = neck((torch.rand(2, 32, 8, 8), torch.rand(2, 64, 4, 4)))[0]
    out.square().mean().backward()
    for name, p in neck.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=(32, )), 'two levels'),
    (dict(in_channels=(32, 64, 128)), 'two levels'),
    (dict(in_channels=(32, -1)), 'two positive'),
    (dict(attn='linear'), 'topk=0'),
    (dict(topk=-3), 'topk'),
])
def test_bad_arguments_raise(kwargs, match):
    cfg = dict(in_channels=(32, 64), embed_channels=32)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        PSTClsNeck(**cfg)


def test_bad_inputs_raise():
    neck = PSTClsNeck((32, 64), embed_channels=32)
    with pytest.raises(ValueError, match='out_indices=\\(2, 3\\)'):
        neck((torch.rand(1, 64, 4, 4), ))
    with pytest.raises(ValueError, match=r'C4 has shape .*\(B, 32, H, W\)'):
        neck((torch.rand(1, 16, 8, 8), torch.rand(1, 64, 4, 4)))
    with pytest.raises(ValueError, match=r'C5 has shape'):
        neck((torch.rand(1, 32, 8, 8), torch.rand(1, 32, 4, 4)))
    with pytest.raises(ValueError, match=r'ceil\(H/2\)'):
        neck((torch.rand(1, 32, 8, 8), torch.rand(1, 64, 5, 4)))
