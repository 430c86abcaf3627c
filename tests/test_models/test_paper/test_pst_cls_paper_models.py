# Copyright (c) pst-mm contributors. All rights reserved.
"""The PST paper's classification models (Table 3) as the configs build
them: parameter counts against the paper, topology, and their parts."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS

import pst_mm  # noqa: F401
from pst_mm.models import BottleneckResNet, ConvPoolClsHead
from pst_mm.utils import build_model_from_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

# config -> (our exact count, the paper's Table 3 count in M)
TABLE3 = {
    'bottleneck-r18_8xb32-200e_in1k.py': (17_851_176, 17.9),
    'bottleneck-r18_pst-n_8xb32-200e_in1k.py': (19_698_632, 19.6),
    'bottleneck-r50_8xb32-200e_in1k.py': (27_413_032, 27.4),
    'bottleneck-r50_pst-n_8xb32-200e_in1k.py': (29_260_488, 29.2),
    'bottleneck-r101_8xb32-200e_in1k.py': (46_405_160, 46.4),
    'bottleneck-r101_pst-s_8xb32-200e_in1k.py': (54_423_368, 54.4),
}


def _build(name):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pst_cls', name))
    return build_model_from_config(cfg)


@pytest.mark.parametrize('name', sorted(TABLE3))
def test_parameter_count_matches_table3(name):
    _, model = _build(name)
    count = sum(p.numel() for p in model.parameters())
    ours, paper = TABLE3[name]
    assert count == ours
    assert abs(count / 1e6 - paper) / paper < 0.01


def test_pst_rows_differ_from_baselines_only_in_neck_and_head_width():
    _, base = _build('bottleneck-r50_8xb32-200e_in1k.py')
    _, pst = _build('bottleneck-r50_pst-n_8xb32-200e_in1k.py')
    assert base.neck is None and pst.neck is not None
    assert isinstance(pst.head, ConvPoolClsHead)
    assert (base.head.in_channels, pst.head.in_channels) == (2048, 256)
    assert base.head.mid_channels == pst.head.mid_channels == 1280
    # official N widths: PST output 256, token width 128 (4 heads of 32)
    attn = next(pst.neck.pst.attentions())
    assert (pst.neck.pst.out_channels, attn.embed_dims, attn.num_heads) == (
        256, 128, 4)
    _, s = _build('bottleneck-r101_pst-s_8xb32-200e_in1k.py')
    assert (s.neck.pst.out_channels, s.neck.pst.embed_channels) == (512, 256)
    assert sum(p.numel() for p in base.backbone.parameters()) == sum(
        p.numel() for p in pst.backbone.parameters())


def test_paper_models_run_and_switch_topk():
    _, model = _build('bottleneck-r18_pst-n_8xb32-200e_in1k.py')
    model.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        fine = model(x, mode='tensor')
        pst_mm.models.set_pst_topk(model, 0)
        coarse = model(x, mode='tensor')
    assert fine.shape == coarse.shape == (2, 1000)
    assert not torch.allclose(fine, coarse)


def test_bottleneck_resnet18_is_bottleneck():
    net = BottleneckResNet(18, out_indices=(0, 1, 2, 3))
    net.eval()  # mmpretrain's ResNet.train() returns None
    assert [len(getattr(net, name)) for name in net.res_layers] == [2] * 4
    with torch.no_grad():
        outs = net(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        assert isinstance(
            MODELS.build(dict(type='BottleneckResNet', depth=50)),
            BottleneckResNet)
    with pytest.raises(ValueError, match=r'depth must be one of \[18, 50, '
                       r'101\], got 34'):
        BottleneckResNet(34)


def test_conv_pool_cls_head():
    head = ConvPoolClsHead(10, 32, mid_channels=48).eval()
    # 1x1 conv (no bias) + BN + linear
    assert sum(p.numel() for p in head.parameters()) == \
        32 * 48 + 2 * 48 + 48 * 10 + 10
    x = torch.rand(2, 32, 5, 7)
    with torch.no_grad():
        out = head((x, ))
        expected = head.fc(head.conv(x).mean((2, 3)))
    torch.testing.assert_close(out, expected)
    with pytest.raises(ValueError, match=r'reads a \(B, 32, H, W\) map, got '
                       r'\(2, 32\)'):
        head((torch.rand(2, 32), ))
    with pytest.raises(ValueError, match='mid_channels'):
        ConvPoolClsHead(10, 32, mid_channels=0)
    with pytest.raises(ValueError, match='dropout'):
        ConvPoolClsHead(10, 32, dropout=1.5)
