# Copyright (c) pst-mm contributors. All rights reserved.
"""The YOLO PAN neck with PSTs: output shapes and parameter counts at n and
s scale (the PSTs as the official PST module counts them), the key/value
wiring, the top-k switch, the layout-matched baseline and bad input."""
import pytest
import torch

from pst_mm.models.layers import PyramidSparseTransformer, set_pst_topk
from pst_mm.models.layers.yolo_blocks import A2C2f
from pst_mm.models.necks import YOLOPSTNeck

# backbone C3/C4/C5 widths and neck outputs of the YOLOv11-PST scales
WIDTHS = dict(n=([128, 128, 256], [64, 128, 256]),
              s=([256, 256, 512], [128, 256, 512]))


def count(m):
    return sum(p.numel() for p in m.parameters())


def pst_params(c_in, c_up, c_out):
    """One official PST (one block, token width c = c_out / 2, heads of
    32 channels), every conv without bias followed by BN (2 per channel)."""
    c = c_out // 2
    convs = [(c_in, c), (c_up, c), (c, c), (c, 2 * c), (c, c), (c, 2 * c),
             (2 * c, c), (2 * c, c_out)]
    pe = 49 * c + 2 * c  # depthwise 7x7 CPE + BN
    gate = 64 * 32 + 32  # Conv1d(2 * 32, 32, 1) shared by the heads
    return sum(a * b + 2 * b for a, b in convs) + pe + gate


def feats(scale, h=16, w=24, batch=1):
    return [
        torch.rand(batch, c, h // 2**i, w // 2**i)
        for i, c in enumerate(WIDTHS[scale][0])
    ]


@pytest.mark.parametrize('scale', ['n', 's'])
def test_shapes_and_pst_parameter_counts(scale):
    (c3, c4, c5), (w3, w4, w5) = WIDTHS[scale]
    neck = YOLOPSTNeck([c3, c4, c5], scale=scale).eval()
    assert neck.out_channels == [w3, w4, w5]
    with torch.no_grad():
        outs = neck(feats(scale))
    assert [tuple(o.shape) for o in outs] == [(1, w3, 16, 24),
                                              (1, w4, 8, 12),
                                              (1, w5, 4, 6)]
    p4, p3 = neck.top_down
    assert isinstance(p4, PyramidSparseTransformer)
    # P4: queries cat[up(C5), C4], K/V C5; P3: cat[up(T4), C3], K/V C4
    assert count(p4) == pst_params(c5 + c4, c5, w4)
    assert count(p3) == pst_params(w4 + c3, c4, w3)
    assert [p.embed_channels for p in (p4, p3)] == [w4 // 2, w3 // 2]
    if scale == 'n':
        # the official yolo11-pst N build: its two PSTs hold 125,856
        assert count(p4) + count(p3) == 125_856


def test_p3_pst_reads_the_raw_backbone_c4():
    neck = YOLOPSTNeck([128, 128, 256]).eval()
    seen = {}
    for i, pst in enumerate(neck.top_down):
        pst.register_forward_pre_hook(
            lambda m, args, i=i: seen.__setitem__(i, args[1]))
    inputs = feats('n')
    with torch.no_grad():
        neck(inputs)
    assert seen[0] is inputs[2] and seen[1] is inputs[1]


def test_topk_switch_changes_inference_only():
    torch.manual_seed(0)
    neck = YOLOPSTNeck([128, 128, 256], pst_cfg=dict(topk=8)).eval()
    x = feats('n', 32, 32)
    with torch.no_grad():
        fine = neck(x)
        assert set_pst_topk(neck, 0) == 2 and neck.topk == 0
        coarse = neck(x)
    # N4 and N5 are built from T3, so every level changes
    assert not any(torch.allclose(f, c) for f, c in zip(fine, coarse))
    # training runs coarse-only whatever the top-k
    neck.train()
    set_pst_topk(neck, 8)
    a = neck(x)
    set_pst_topk(neck, 0)
    b = neck(x)
    torch.testing.assert_close(a[0], b[0])


def test_layout_matched_baseline_replaces_only_the_psts():
    pst = YOLOPSTNeck([128, 128, 256], layout='yolo12', use_pst=True)
    base = YOLOPSTNeck([128, 128, 256], layout='yolo12', use_pst=False)
    assert all(isinstance(m, A2C2f) for m in base.top_down)
    assert base.topk == 0
    outside = [
        (n, tuple(p.shape)) for n, p in pst.named_parameters()
        if not n.startswith('top_down')
    ]
    assert outside == [(n, tuple(p.shape))
                       for n, p in base.named_parameters()
                       if not n.startswith('top_down')]


def test_resnet_p5_attention():
    neck = YOLOPSTNeck([512, 1024, 2048], p5_attention=True).eval()
    # 1x1 conv to 256 + A2C2f with 4 global attention blocks (2 stages)
    assert len(neck.p5_block[1].blocks) == 2
    assert neck.p5_block[1].blocks[0][0].attn.area == 1
    x = [torch.rand(1, c, 8 // 2**i, 8 // 2**i)
         for i, c in enumerate([512, 1024, 2048])]
    with torch.no_grad():
        outs = neck(x)
    assert [o.shape[1] for o in outs] == [64, 128, 256]


def test_pst_cfg_over_the_neck_defaults():
    """The official options (gate, mean-logit score, PyTorch's conv init),
    the scale's block count and C' = half the output; pst_cfg over them."""
    assert dict(YOLOPSTNeck.pst_defaults) == dict(
        fusion='gate', score='mean_logit', conv_init='pytorch')
    for scale, blocks in (('n', 1), ('l', 2)):
        neck = YOLOPSTNeck(WIDTHS['s'][0], scale=scale)
        assert [len(p.blocks) for p in neck.top_down] == [blocks] * 2
    neck = YOLOPSTNeck([128, 128, 256],
                       pst_cfg=dict(topk=0, fusion='sum', num_blocks=2))
    assert neck.topk == 0
    for pst, c in zip(neck.top_down, (64, 32)):
        assert pst.embed_channels == c and len(pst.blocks) == 2
        assert type(pst.in_conv).__name__ == 'YOLOConv'
        assert [(a.topk, a.fusion, a.score) for a in pst.attentions()] == [
            (0, 'sum', 'mean_logit')] * 2
    with pytest.raises(TypeError, match=r"^YOLOPSTNeck: 'topk' is now "
                       r'pst_cfg=dict\(topk=\.\.\.\)$'):
        YOLOPSTNeck([128, 128, 256], topk=0)
    with pytest.raises(ValueError, match="unknown pst_cfg key 'expand_ratio'"):
        YOLOPSTNeck([128, 128, 256], pst_cfg=dict(expand_ratio=0.25))


def test_bad_input():
    with pytest.raises(ValueError, match='three levels'):
        YOLOPSTNeck([128, 256])
    with pytest.raises(ValueError, match="layout must be"):
        YOLOPSTNeck([128, 128, 256], layout='v8')
    neck = YOLOPSTNeck([128, 128, 256])
    with pytest.raises(ValueError, match=r'expects 3 levels with channels'):
        neck([torch.rand(1, 128, 8, 8), torch.rand(1, 64, 4, 4),
              torch.rand(1, 256, 2, 2)])
    # levels that are not exact halves (an input not padded to 32)
    with pytest.raises(ValueError, match='pad inputs to a multiple of 32'):
        neck([torch.rand(1, 128, 9, 8), torch.rand(1, 128, 5, 4),
              torch.rand(1, 256, 3, 2)])
