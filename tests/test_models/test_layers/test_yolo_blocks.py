# Copyright (c) pst-mm contributors. All rights reserved.
"""YOLOv11/v12 blocks: shapes, parameter counts derived by hand from the
architecture, and the attention cores against dense references."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from pst_mm.models.layers.yolo_blocks import (SPPF, A2C2f, AreaAttention,
                                              C2PSA, C3k2,
                                              PositionSensitiveAttention,
                                              get_yolo_scale)


def conv_bn(cin, cout, k=1, groups=1):
    """Parameters of Conv2d(bias=False) + BN."""
    return cin // groups * cout * k * k + 2 * cout


def count(m):
    return sum(p.numel() for p in m.parameters())


def test_scales():
    n, m = get_yolo_scale('n'), get_yolo_scale('m')
    assert [n.channels(c) for c in (64, 256, 1024)] == [16, 64, 256]
    assert [m.channels(c) for c in (64, 256, 1024)] == [64, 256, 512]
    assert (n.repeats(2), n.repeats(4), n.repeats(1)) == (1, 2, 1)
    assert not n.c3k and m.c3k
    with pytest.raises(ValueError, match='scale must be one of'):
        get_yolo_scale('xl')


@pytest.mark.parametrize('scale', ['n', 's'])
def test_c3k2_shape_and_params(scale):
    w = {'n': 1, 's': 2}[scale]
    cin, cout = 32 * w, 64 * w
    block = C3k2(cin, cout, 1, False, 0.25)
    c = cout // 4
    bottleneck = conv_bn(c, c // 2, 3) + conv_bn(c // 2, c, 3)
    assert count(block) == (conv_bn(cin, 2 * c) + conv_bn(3 * c, cout) +
                            bottleneck)
    if scale == 'n':
        assert count(block) == 6640  # YOLOv11-N layer 2
    x = torch.rand(2, cin, 8, 12)
    assert block(x).shape == (2, cout, 8, 12)
    # c3k: the inner block is a C3k with two 3x3/3x3 bottlenecks
    block = C3k2(cin, cout, 1, True)
    c = cout // 2
    c3k = (2 * conv_bn(c, c // 2) + conv_bn(c, c) +
           2 * (2 * conv_bn(c // 2, c // 2, 3)))
    assert count(block) == conv_bn(cin, 2 * c) + conv_bn(3 * c, cout) + c3k
    assert block(x).shape == (2, cout, 8, 12)


@pytest.mark.parametrize('scale', ['n', 's'])
def test_a2c2f_shape_and_params(scale):
    dim = {'n': 128, 's': 256}[scale]
    block = A2C2f(dim, dim, 2, True, area=4)
    c, hidden = dim // 2, dim
    ablock = (conv_bn(c, 3 * c) + conv_bn(c, c) + conv_bn(c, c, 7, c) +
              conv_bn(c, hidden) + conv_bn(hidden, c))
    assert count(block) == conv_bn(dim, c) + conv_bn(3 * c, dim) + 4 * ablock
    if scale == 'n':
        assert count(block) == 180864  # YOLOv12-N layer 6
    x = torch.rand(2, dim, 8, 8)
    assert block(x).shape == (2, dim, 8, 8)
    # without attention: C3k stages; the residual adds a layer scale
    assert A2C2f(dim + 64, dim, 1, a2=False)(torch.rand(1, dim + 64, 4, 4)
                                             ).shape == (1, dim, 4, 4)
    res = A2C2f(dim, dim, 1, True, 1, residual=True)
    assert count(res) == count(A2C2f(dim, dim, 1, True, 1)) + dim
    torch.testing.assert_close(res.gamma, torch.full((dim, ), 0.01))


def test_a2c2f_bad_input():
    with pytest.raises(ValueError, match='divisible by 32'):
        A2C2f(48, 48, 1, True)
    with pytest.raises(ValueError, match='in_channels == out_channels'):
        A2C2f(64, 128, 1, True, residual=True)
    with pytest.raises(ValueError, match='H\\*W divisible'):
        AreaAttention(32, 1, area=4)(torch.rand(1, 32, 3, 3))


def test_c2psa_and_sppf_params():
    assert count(C2PSA(256, 256, 1)) == 249728  # YOLOv11-N layer 10
    assert count(SPPF(256, 256)) == conv_bn(256, 128) + conv_bn(512, 256)
    with pytest.raises(ValueError, match='C2PSA keeps the width'):
        C2PSA(256, 128)


def test_sppf_equals_parallel_pools():
    sppf = SPPF(8, 8).eval()
    x = torch.rand(1, 8, 9, 11)
    y = sppf.conv1(x)
    pools = [y] + [F.max_pool2d(y, k, 1, k // 2) for k in (5, 9, 13)]
    torch.testing.assert_close(sppf(x), sppf.conv2(torch.cat(pools, 1)))


def _dense_attention(q, k, v):
    """(B, heads, N, d) queries/keys/values -> softmax(q k^T / sqrt(d)) v."""
    attn = (q @ k.transpose(-2, -1) / q.shape[-1]**0.5).softmax(-1)
    return attn @ v


def test_area_attention_matches_stripes_reference():
    torch.manual_seed(0)
    attn = AreaAttention(64, 2, area=4).eval()
    x = torch.rand(2, 64, 8, 6)
    B, C, H, W = x.shape
    qkv = attn.qkv(x)  # per head [q_h | k_h | v_h]
    qkv = qkv.view(B, 2, 3, 32, H, W)
    out = torch.zeros(B, 2, 32, H, W)
    for s in range(4):  # four stripes of two rows attend within themselves
        rows = slice(2 * s, 2 * s + 2)
        q, k, v = (qkv[:, :, i, :, rows].flatten(3).transpose(-2, -1)
                   for i in range(3))
        out[..., rows, :] = _dense_attention(q, k, v).transpose(
            -2, -1).reshape(B, 2, 32, 2, W)
    v = qkv[:, :, 2].reshape(B, C, H, W)
    ref = attn.proj(out.reshape(B, C, H, W) + attn.pe(v))
    torch.testing.assert_close(attn(x), ref, rtol=1e-4, atol=1e-5)


def test_position_sensitive_attention_matches_reference():
    torch.manual_seed(0)
    attn = PositionSensitiveAttention(128, 2).eval()
    x = torch.rand(1, 128, 5, 7)
    qkv = attn.qkv(x).view(1, 2, 128, 35)  # per head [q 32 | k 32 | v 64]
    q, k, v = qkv[:, :, :32], qkv[:, :, 32:64], qkv[:, :, 64:]
    out = _dense_attention(q.transpose(-2, -1), k.transpose(-2, -1),
                           v.transpose(-2, -1))
    out = out.transpose(-2, -1).reshape(1, 128, 5, 7)
    ref = attn.proj(out + attn.pe(v.reshape(1, 128, 5, 7)))
    torch.testing.assert_close(attn(x), ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('config', ['yolo11-n_8xb16-600e_coco.py',
                                    'yolo11-pst-n_8xb16-600e_coco.py',
                                    'yolo_r18_pst-n_8xb16-600e_coco.py'])
def test_yolo_convs_start_from_pytorchs_default_init(config):
    """As Ultralytics' Conv (PyTorch's default, std 1 / sqrt(3 fan_in)), not
    mmcv's Kaiming normal (2.4x that std), also after init_weights; the
    attention blocks keep their trunc-normal(0.02)."""
    import math
    import os.path as osp

    from pst_mm.utils import build_model_from_config
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    torch.manual_seed(0)
    _, model = build_model_from_config(
        osp.join(repo, 'configs', 'yolo_pst', config))
    ratios = {
        name: m.weight.std().item() * math.sqrt(3 * m.weight[0].numel())
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d) and m.weight[0].numel() >= 64
    }
    assert max(ratios.values()) < 1.3, max(ratios.items(),
                                           key=lambda kv: kv[1])
    assert sum(r > 0.8 for r in ratios.values()) > len(ratios) // 3
