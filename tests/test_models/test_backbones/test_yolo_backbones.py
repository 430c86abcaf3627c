# Copyright (c) pst-mm contributors. All rights reserved.
"""YOLOv11/v12 and YOLO-ResNet backbones; the plain YOLOv11-N/S/M detectors
have exactly the published parameter counts (the check that the blocks are
the reference blocks)."""
import pytest
import torch
from mmdet.registry import MODELS

import pst_mm  # noqa: F401
from pst_mm.models.backbones import YOLO11Backbone, YOLOResNet


HEAD_CHANNELS = dict(n=[64, 128, 256], s=[128, 256, 512], m=[256, 512, 512])


def count(m):
    return sum(p.numel() for p in m.parameters())


def yolo_detector(arch, scale, layout, use_pst=False, nc=80):
    return MODELS.build(
        dict(
            type='YOLODetector',
            backbone=dict(type='YOLO11Backbone', arch=arch, scale=scale),
            neck=dict(
                type='YOLOPSTNeck',
                in_channels=YOLO11Backbone(arch, scale).out_channels,
                scale=scale,
                layout=layout,
                use_pst=use_pst),
            bbox_head=dict(
                type='YOLOv11Head',
                num_classes=nc,
                in_channels=HEAD_CHANNELS[scale])))


@pytest.mark.parametrize('scale,expected', [('n', 2_624_080),
                                            ('s', 9_458_752),
                                            ('m', 20_114_688)])
def test_yolo11_detector_parameter_count_is_exact(scale, expected):
    assert count(yolo_detector('v11', scale, 'yolo11')) == expected


def test_yolo12_layout_count():
    # YOLOv12-N with plain stride convs (the layout of the released PST
    # model without its PSTs): 2.60 M
    assert count(yolo_detector('v12', 'n', 'yolo12')) == 2_602_288


@pytest.mark.parametrize('arch', ['v11', 'v12'])
def test_yolo_backbone_shapes(arch):
    net = YOLO11Backbone(arch, 'n', out_indices=(1, 2, 3, 4)).eval()
    outs = net(torch.rand(2, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 16, 24),
                                              (2, 128, 8, 12),
                                              (2, 128, 4, 6),
                                              (2, 256, 2, 3)]
    assert net.out_channels == [64, 128, 128, 256]


def test_yolo_backbone_bad_input():
    with pytest.raises(ValueError, match="arch must be 'v11' or 'v12'"):
        YOLO11Backbone('v8')
    with pytest.raises(ValueError, match='scale must be one of'):
        YOLO11Backbone('v11', 'q')
    with pytest.raises(ValueError, match='out_indices'):
        YOLO11Backbone('v11', 'n', out_indices=(5, ))


@pytest.mark.parametrize('depth,expected', [(18, 13_946_176),
                                            (50, 23_508_032),
                                            (101, 42_500_160)])
def test_yolo_resnet_parameter_count(depth, expected):
    # bottlenecks everywhere: torchvision's ResNet-50/101 without the fc
    # (23,508,032 / 42,500,160) and (2, 2, 2, 2) bottlenecks for "R-18"
    assert count(YOLOResNet(depth)) == expected


def test_yolo_resnet_shapes_and_activations():
    net = YOLOResNet(18, out_indices=(0, 1, 2, 3, 4)).eval()
    outs = net(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 16, 16),
                                              (1, 256, 16, 16),
                                              (1, 512, 8, 8),
                                              (1, 1024, 4, 4),
                                              (1, 2048, 2, 2)]
    block = net.stages[2][0]
    assert isinstance(block.conv1.activate, torch.nn.SiLU)
    assert not block.conv3.with_activation
    assert (outs[2] >= 0).all()  # ReLU after the residual sum
    assert len(YOLOResNet(50).stages[3]) == 6
    with pytest.raises(ValueError, match='depth must be one of'):
        YOLOResNet(34)


def test_detector_checks_widths_at_build_time():
    cfg = dict(
        type='YOLODetector',
        backbone=dict(type='YOLO11Backbone', arch='v11', scale='n'),
        neck=dict(type='YOLOPSTNeck', in_channels=[128, 128, 512],
                  layout='yolo11', use_pst=False),
        bbox_head=dict(type='YOLOv11Head', num_classes=3,
                       in_channels=[64, 128, 256]))
    with pytest.raises(ValueError, match=r'backbone.out_channels \[128, 128, '
                       r'256\] does not match neck.in_channels'):
        MODELS.build(cfg)
    cfg['neck']['in_channels'] = [128, 128, 256]
    cfg['bbox_head']['in_channels'] = [64, 128]
    with pytest.raises(ValueError, match='one in_channels entry per stride'):
        MODELS.build(cfg)
    cfg['bbox_head']['in_channels'] = [64, 128, 128]
    with pytest.raises(ValueError, match='neck.out_channels'):
        MODELS.build(cfg)
