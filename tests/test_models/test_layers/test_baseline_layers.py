# Copyright (c) pst-mm contributors. All rights reserved.
"""The attention-FPN baselines' layers against slow, obviously correct
references."""
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from pst_mm.models.layers import (ChannelReweightedSum, ContextExtraction,
                                  DualLevelReassembly,
                                  DynamicTextureAttention,
                                  ForegroundAwareCoAttention,
                                  MeanAffinityAttention,
                                  MultiLevelGlobalContext,
                                  SparseAttentionBlock,
                                  content_aware_reassembly,
                                  select_local_peaks)


def reassembly_reference(x, kernels, scale):
    """CARAFE's reassembly, one output pixel at a time, float64."""
    x, kernels = x.double(), kernels.double()
    B, C, h, w = x.shape
    k = int(kernels.shape[1]**0.5)
    r = k // 2
    H, W = kernels.shape[-2:]
    out = torch.zeros(B, C, H, W, dtype=torch.float64)
    for i in range(H):
        for j in range(W):
            for a in range(k):
                for b in range(k):
                    y, z = i // scale + a - r, j // scale + b - r
                    if 0 <= y < h and 0 <= z < w:
                        out[:, :, i, j] += kernels[:, a * k + b, i,
                                                   j, None] * x[:, :, y, z]
    return out


@pytest.mark.parametrize('k, fine, scale', [(5, (9, 7), 2), (3, (8, 6), 2),
                                            (1, (5, 5), 2), (3, (7, 8), 3)])
def test_reassembly_matches_reference(k, fine, scale):
    g = torch.Generator().manual_seed(0)
    H, W = fine
    h, w = -(-H // scale), -(-W // scale)
    x = torch.randn(2, 3, h, w, generator=g)
    kernels = torch.randn(2, k * k, H, W, generator=g).softmax(1)
    out = content_aware_reassembly(x, kernels, scale)
    assert out.shape == (2, 3, H, W)
    assert_close(out.double(), reassembly_reference(x, kernels, scale),
                 rtol=1e-5, atol=1e-5)


def test_centre_kernel_is_nearest_upsampling():
    x = torch.randn(1, 4, 5, 4)
    kernels = torch.zeros(1, 25, 9, 8)
    kernels[:, 12] = 1  # the centre tap of a 5x5 kernel
    out = content_aware_reassembly(x, kernels)
    assert_close(out, F.interpolate(x, size=(9, 8), mode='nearest'))


@pytest.mark.parametrize('kernels, match', [
    (torch.rand(1, 4, 8, 8), 'k\\*k channels with k odd'),
    (torch.rand(1, 9, 12, 8), 'do not match'),
    (torch.rand(2, 9, 8, 8), 'do not match'),
])
def test_reassembly_bad_kernels(kernels, match):
    with pytest.raises(ValueError, match=match):
        content_aware_reassembly(torch.rand(1, 2, 4, 4), kernels)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_reassembly_matches_mmcv_carafe_on_cuda():
    from mmcv.ops import carafe
    x = torch.randn(2, 16, 10, 12, device='cuda')
    kernels = torch.randn(2, 25, 20, 24, device='cuda').softmax(1)
    assert_close(
        content_aware_reassembly(x, kernels),
        carafe(x, kernels, 5, 1, 2),
        rtol=1e-4,
        atol=1e-4)


def test_dual_level_reassembly_uses_both_levels():
    torch.manual_seed(0)
    m = DualLevelReassembly(8, up_kernel=3)
    coarse, fine = torch.randn(1, 8, 4, 5), torch.randn(1, 8, 7, 9)
    kernels = m.kernels(coarse, fine)
    assert kernels.shape == (1, 9, 7, 9)
    assert_close(kernels.sum(1), torch.ones(1, 7, 9))
    assert m(coarse, fine).shape == (1, 8, 7, 9)
    # Kernels change when only the fine map changes.
    assert not torch.allclose(kernels, m.kernels(coarse, fine + 1))
    with pytest.raises(ValueError, match='up_kernel'):
        DualLevelReassembly(8, up_kernel=4)


def _zeroed(module):
    """``module`` with every parameter 0: its sigmoid gates sit at 0.5."""
    for p in module.parameters():
        torch.nn.init.zeros_(p)
    return module


def test_channel_reweighted_sum_weights_each_input():
    m = _zeroed(ChannelReweightedSum(16))
    a, b = torch.randn(2, 16, 3, 3), torch.randn(2, 16, 3, 3)
    assert_close(m(a, b), 0.5 * a + 0.5 * b)


def test_multi_level_global_context_is_attention_pooling():
    torch.manual_seed(0)
    m = MultiLevelGlobalContext([4, 6], 8)
    feats = [torch.randn(2, 4, 5, 5), torch.randn(2, 6, 3, 3)]
    laterals = [torch.zeros(2, 8, 5, 5), torch.zeros(2, 8, 3, 3)]
    outs = m(feats, laterals)
    pooled = []
    for score, x in zip(m.score, feats):
        attn = score(x).flatten(2).softmax(-1)
        pooled.append((x.flatten(2) * attn).sum(-1))
    context = m.transform(torch.cat(pooled, 1)[..., None, None])
    for out, dist in zip(outs, m.distribute):
        # Same vector at every position, from all levels.
        assert_close(out, dist(context).expand_as(out))


def test_mean_affinity_attention_matches_dense_map():
    torch.manual_seed(0)
    m = MeanAffinityAttention(16, guide_channels=8, reduction=4)
    x, guide = torch.randn(2, 16, 5, 6), torch.randn(2, 8, 5, 6)
    q = m.query(guide).flatten(2)  # (B, d, N)
    k = m.key(guide).flatten(2)
    R = torch.einsum('bdi,bdj->bij', q, k)  # the paper's N x N relation
    gate = R.mean(-1).sigmoid().view(2, 1, 5, 6)
    assert_close(m(x, guide), m.value(x) * gate)
    assert_close(
        MeanAffinityAttention(16)(x).shape, torch.Size([2, 16, 5, 6]))


def test_context_extraction_dense_branches():
    torch.manual_seed(0)
    m = ContextExtraction(
        32, 16, mid_channels=16, branch_channels=8, dilations=(1, 2, 3),
        norm_cfg=dict(type='GN', num_groups=4))
    # Branch i sees the input and all earlier branch outputs.
    assert [b[0].conv.in_channels for b in m.branches] == [32, 40, 48]
    dilations = [b[1].conv.dilation for b in m.branches]
    assert dilations == [(1, 1), (2, 2), (3, 3)]
    assert m.fuse.conv.in_channels == 32 + 4 * 8
    assert m(torch.randn(2, 32, 7, 5)).shape == (2, 16, 7, 5)
    with pytest.raises(ValueError, match='dilations'):
        ContextExtraction(32, 16, dilations=())


def test_context_extraction_deformable_branches_on_cpu():
    m = ContextExtraction(
        16, 8, mid_channels=16, branch_channels=8, dilations=(2, 3),
        dilated_conv_cfg=dict(type='DCNv2'),
        norm_cfg=dict(type='GN', num_groups=4))
    assert type(m.branches[0][1].conv).__name__ == \
        'ModulatedDeformConv2dPack'
    x = torch.randn(1, 16, 9, 7, requires_grad=True)
    m(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_local_peaks():
    heat = torch.full((1, 1, 5, 6), -1.0)
    heat[0, 0, 1, 1], heat[0, 0, 3, 4], heat[0, 0, 1, 2] = 5.0, 3.0, 4.0
    indices, valid = select_local_peaks(heat, 4)
    # (1, 2) is not a peak: its neighbour (1, 1) is higher. The flat -1
    # background is a plateau of peaks only where no higher value is near.
    assert indices[0, :2].tolist() == [1 * 6 + 1, 3 * 6 + 4]
    assert valid.all()
    assert 1 * 6 + 2 not in indices[0].tolist()
    single = torch.zeros(1, 1, 3, 3)
    single[0, 0, 1, 1] = 1
    indices, valid = select_local_peaks(single, 4)
    assert indices[0, 0] == 4 and valid.tolist() == [[True, False, False,
                                                      False]]
    with pytest.raises(ValueError, match='heat'):
        select_local_peaks(torch.rand(1, 2, 3, 3), 4)


def sparse_attention_reference(m, x):
    """Non-local attention restricted to the heat map's peaks, per image,
    with the peaks found by explicit neighbourhood comparisons."""
    out = []
    for xb in x:
        heat = m.heat(xb[None])[0, 0]
        H, W = heat.shape
        peaks = []
        for i in range(H):
            for j in range(W):
                nb = heat[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
                if heat[i, j] >= nb.max():
                    peaks.append((heat[i, j].item(), i * W + j))
        sel = [n for _, n in sorted(peaks, reverse=True)[:m.num_points]]
        q = m.query(xb[None]).flatten(2)[0].double()  # (d, N)
        k = m.key(xb[None]).flatten(2)[0, :, sel].double()
        v = m.value(xb[None]).flatten(2)[0, :, sel].double() * \
            heat.flatten()[sel].sigmoid().double()
        attn = (q.T @ k * m.scale).softmax(-1)  # (N, K)
        y = (v @ attn.T).view(1, -1, H, W).float()
        out.append(xb + m.gamma[0] * m.out(y)[0])
    return torch.stack(out)


@pytest.mark.parametrize('num_points', [1, 5, 200])
def test_sparse_attention_block_matches_reference(num_points):
    torch.manual_seed(0)
    m = SparseAttentionBlock(16, num_points=num_points)
    torch.nn.init.normal_(m.gamma)
    x = torch.randn(2, 16, 7, 9)
    assert_close(m(x), sparse_attention_reference(m, x), rtol=1e-4,
                 atol=1e-4)


def test_sparse_attention_block_starts_as_identity_and_trains_heat():
    m = SparseAttentionBlock(8, num_points=4)
    x = torch.randn(1, 8, 6, 6)
    assert_close(m(x), x)
    torch.nn.init.ones_(m.gamma)
    m(x).sum().backward()
    assert m.heat.weight.grad.abs().sum() > 0
    for kwargs, match in [(dict(num_points=0), 'num_points'),
                          (dict(window=2), 'window')]:
        with pytest.raises(ValueError, match=match):
            SparseAttentionBlock(8, **kwargs)


def test_dynamic_texture_attention_gates():
    m = _zeroed(DynamicTextureAttention(16))
    up, lat = torch.randn(2, 16, 5, 5), torch.randn(2, 16, 5, 5)
    # All gates at sigmoid(0) = 0.5: 0.5 * up + (1 + 0.5) * 0.5 * lat.
    assert_close(m(up, lat), 0.5 * up + 0.75 * lat)
    with pytest.raises(ValueError, match='spatial_kernel'):
        DynamicTextureAttention(16, spatial_kernel=4)


def test_foreground_co_attention_mixes_levels_and_damps_background():
    torch.manual_seed(0)
    m = ForegroundAwareCoAttention(8, num_prototypes=2)
    feats = [torch.randn(1, 8, 6, 6), torch.randn(1, 8, 3, 3)]
    for out, x in zip(m(feats), feats):  # gamma = 0: identity
        assert_close(out, x)
    torch.nn.init.ones_(m.gamma)
    # A background-only map (foreground prob. 0) is removed entirely.
    torch.nn.init.zeros_(m.foreground.weight)
    torch.nn.init.constant_(m.foreground.bias, -1e4)
    for out in m(feats):
        assert_close(out, torch.zeros_like(out))
    # With foreground everywhere, level 0's output depends on level 1.
    torch.nn.init.constant_(m.foreground.bias, 1e4)
    a = m(feats)[0]
    b = m([feats[0], feats[1] * 2])[0]
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match='num_prototypes'):
        ForegroundAwareCoAttention(8, num_prototypes=0)
