# Copyright (c) pst-mm contributors. All rights reserved.
"""The attention-FPN baselines (A²-FPN, A²-FPN-Lite, AFPN, AC-FPN, SA-FPN)
as mmdet necks: shapes, odd sizes, bad arguments, and the FPN they share."""
import pytest
import torch
from mmdet.models.necks import FPN
from mmdet.registry import MODELS
from mmengine.registry import DefaultScope
from torch.testing import assert_close

import pst_mm  # noqa: F401
from conftest import pyramid_feats
from pst_mm.models.necks import (ACFPN, SAFPN, A2FPN, A2FPNLite,
                                 AttentionalFPN, BaseFPN)

# Small widths so the CPU tests stay fast; the CEM's GN needs groups that
# divide its widths.
SMALL = {
    A2FPN: dict(compressed_channels=8),
    A2FPNLite: dict(compressed_channels=8),
    AttentionalFPN: dict(),
    ACFPN: dict(
        cem_mid_channels=32,
        cem_branch_channels=16,
        cem_norm_cfg=dict(type='GN', num_groups=8)),
    SAFPN: dict(num_points=8),
}
NECKS = list(SMALL)
IN_CHANNELS = [8, 16, 32, 64]


def _feats(size):
    return pyramid_feats(IN_CHANNELS, size)


def _neck(cls, **kwargs):
    args = dict(in_channels=IN_CHANNELS, out_channels=32, num_outs=5,
                start_level=1, add_extra_convs='on_input')
    args.update(SMALL[cls])
    args.update(kwargs)
    return cls(**args)


@pytest.mark.parametrize('cls', NECKS)
def test_registered_in_mmdet(cls):
    with DefaultScope.overwrite_default_scope('mmdet'):
        neck = MODELS.build(
            dict(
                type=cls.__name__,
                in_channels=IN_CHANNELS,
                out_channels=32,
                num_outs=5,
                start_level=1,
                **SMALL[cls]))
    assert type(neck) is cls


@pytest.mark.parametrize('cls', NECKS)
@pytest.mark.parametrize('size, expected', [
    ((64, 48), [(32, 24), (16, 12), (8, 6), (4, 3), (2, 2)]),
    # Odd sizes at every level (a 133x101 image through a ResNet).
    ((67, 51), [(34, 26), (17, 13), (9, 7), (5, 4), (3, 2)]),
])
def test_output_shapes_every_level(cls, size, expected):
    torch.manual_seed(0)
    neck = _neck(cls)
    neck.init_weights()
    outs = neck(_feats(size))
    assert [tuple(o.shape) for o in outs] == [(2, 32) + s for s in expected]
    assert all(torch.isfinite(o).all() for o in outs)
    sum(o.sum() for o in outs).backward()
    assert all(p.grad is not None for p in neck.parameters())


@pytest.mark.parametrize('cls', NECKS)
@pytest.mark.parametrize('extra, num_outs, expected_convs', [
    (False, 5, 0), ('on_lateral', 5, 2), ('on_output', 4, 1), (True, 3, 0)
])
def test_extra_levels_like_fpn(cls, extra, num_outs, expected_convs):
    neck = _neck(cls, add_extra_convs=extra, num_outs=num_outs)
    outs = neck(_feats((32, 32)))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1][:num_outs]
    assert len(neck.extra_convs) == expected_convs


def test_end_level_like_fpn():
    neck = _neck(SAFPN, end_level=2, num_outs=2)
    outs = neck(_feats((32, 32)))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 16), (2, 32, 8, 8)]
    assert neck.used_in_channels == [16, 32] and len(neck.extra_convs) == 0


@pytest.mark.parametrize('cls', NECKS)
def test_through_resnet_at_an_odd_image_size(cls):
    from mmdet.models.backbones import ResNet
    backbone = ResNet(18, out_indices=(0, 1, 2, 3))
    backbone.eval()
    neck = _neck(cls, in_channels=[64, 128, 256, 512])
    with torch.no_grad():
        outs = neck(backbone(torch.randn(1, 3, 97, 131)))
    assert [tuple(o.shape[-2:]) for o in outs] == [(13, 17), (7, 9), (4, 5),
                                                   (2, 3), (1, 2)]


@pytest.mark.parametrize('cls', NECKS)
@pytest.mark.parametrize('kwargs, match', [
    (dict(in_channels=[8]), 'at least 2 levels'),
    (dict(in_channels=[8, 0, 16]), 'positive'),
    (dict(start_level=4), 'at least 2 levels'),
    (dict(num_outs=2), 'num_outs'),
    (dict(out_channels=0), 'out_channels'),
    (dict(add_extra_convs='on_top'), 'add_extra_convs'),
    (dict(end_level=1), 'end_level'),
    (dict(end_level=2), 'num_outs'),
])
def test_bad_fpn_arguments_raise(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _neck(cls, **kwargs)


@pytest.mark.parametrize('cls', NECKS)
def test_bad_inputs_raise(cls):
    neck = _neck(cls)
    feats = _feats((16, 16))
    with pytest.raises(ValueError, match='expects 4 input levels'):
        neck(feats[1:])
    wrong = list(feats)
    wrong[2] = torch.randn(2, 7, 4, 4)
    with pytest.raises(ValueError, match='input level 2 has shape'):
        neck(wrong)


@pytest.mark.parametrize('cls, kwargs, match', [
    (A2FPN, dict(up_kernel=4), 'up_kernel'),
    (A2FPN, dict(encoder_kernel=0), 'encoder_kernel'),
    (A2FPN, dict(reweight_reduction=0), 'reduction'),
    (A2FPNLite, dict(compressed_channels=0), 'compressed_channels'),
    (AttentionalFPN, dict(dta_reduction=0), 'reduction'),
    (AttentionalFPN, dict(num_prototypes=0), 'num_prototypes'),
    (AttentionalFPN, dict(spatial_kernel=2), 'spatial_kernel'),
    (ACFPN, dict(dilations=()), 'dilations'),
    (ACFPN, dict(dilations=(3, 0)), 'dilations'),
    (ACFPN, dict(attention_reduction=0), 'reduction'),
    (ACFPN, dict(cem_mid_channels=0), 'mid_channels'),
    (SAFPN, dict(window=2), 'window'),
    (SAFPN, dict(key_channels=-4), 'key_channels'),
    (SAFPN, dict(num_points=0), 'num_points'),
    (SAFPN, dict(sa_levels=[0, 3]), 'sa_levels'),
    (SAFPN, dict(sa_levels=[]), 'sa_levels'),
])
def test_neck_specific_bad_arguments_raise(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _neck(cls, **kwargs)


@pytest.mark.parametrize('cls', [A2FPN, A2FPNLite])
def test_reassembly_needs_halving_levels(cls):
    feats = _feats((16, 16))
    feats[2] = torch.randn(2, 32, 5, 5)  # 8x8 expected
    with pytest.raises(ValueError, match='halve'):
        _neck(cls)(feats)


def test_lite_drops_global_context_and_3x3_encoder():
    full, lite = _neck(A2FPN), _neck(A2FPNLite)
    assert full.global_context is not None and lite.global_context is None
    assert [m.encoder.kernel_size for m in full.reassembly] == [(3, 3)] * 2
    assert [m.encoder.kernel_size for m in lite.reassembly] == [(1, 1)] * 2
    assert len(lite.reweight) == 2
    n_full = sum(p.numel() for p in full.parameters())
    n_lite = sum(p.numel() for p in lite.parameters())
    assert n_lite < n_full


def test_flags_select_sub_modules():
    assert _neck(AttentionalFPN, use_fca=False).fca is None
    assert _neck(AttentionalFPN).fca is not None
    assert sorted(_neck(SAFPN, sa_levels=[0, 2]).sa_blocks) == ['0', '2']
    assert _neck(A2FPN, global_context=False).global_context is None


def _load_mmdet_fpn(neck, fpn):
    """Load mmdet FPN weights into a BaseFPN: the shared layers have FPN's
    own names."""
    missing, unexpected = neck.load_state_dict(fpn.state_dict(), strict=False)
    assert not unexpected
    return missing


@pytest.mark.parametrize('extra', [False, 'on_input', 'on_lateral',
                                   'on_output'])
def test_base_fpn_is_mmdet_fpn(extra):
    torch.manual_seed(0)
    fpn = FPN(IN_CHANNELS, 32, 5, start_level=1, add_extra_convs=extra,
              relu_before_extra_convs=True)
    base = BaseFPN(IN_CHANNELS, 32, 5, start_level=1, add_extra_convs=extra,
                   relu_before_extra_convs=True)
    assert not _load_mmdet_fpn(base, fpn)
    feats = _feats((37, 29))
    for a, b in zip(base(feats), fpn(feats)):
        assert_close(a, b)


def test_sa_fpn_starts_as_fpn():
    """SA blocks start with zero residual weight, so an initialised SA-FPN
    is exactly the FPN it is built on, and the comparison starts fair."""
    torch.manual_seed(0)
    fpn = FPN(IN_CHANNELS, 32, 5, start_level=1, add_extra_convs='on_input')
    sa = _neck(SAFPN)
    missing = _load_mmdet_fpn(sa, fpn)
    assert all(k.startswith('sa_blocks.') for k in missing)
    feats = _feats((32, 24))
    for a, b in zip(sa(feats), fpn(feats)):
        assert_close(a, b)
    torch.nn.init.ones_(sa.sa_blocks['0'].gamma)
    assert not torch.allclose(sa(feats)[0], fpn(feats)[0])


def test_ac_fpn_merges_context_and_attention_into_the_top():
    """L5' = L5 + F + CxAM(F) + CnAM(F, guide=L5) with F = CEM(C5); the
    lower laterals are untouched before the top-down path."""
    torch.manual_seed(0)
    neck = _neck(ACFPN).eval()
    feats = _feats((32, 32))[1:]
    laterals = [conv(x) for conv, x in zip(neck.lateral_convs, feats)]
    with torch.no_grad():
        out = neck.enhance_laterals(feats, list(laterals))
        F5 = neck.cem(feats[-1])
        expected = laterals[-1] + F5 + neck.context_attention(F5) + \
            neck.content_attention(F5, laterals[-1])
    assert_close(out[-1], expected)
    for a, b in zip(out[:-1], laterals[:-1]):
        assert a is b
