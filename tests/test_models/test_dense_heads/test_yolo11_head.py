# Copyright (c) pst-mm contributors. All rights reserved.
"""YOLOv11 head: the three losses against values computed by hand for one
box, loss forward/backward on a padded batch of two images of different
sizes (one without boxes), and predictions inside their images."""
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import pst_mm  # noqa: F401
from pst_mm.models.dense_heads import YOLOv11Head

NEG = -1e4  # a bin with zero probability


def _ciou_by_hand(p, t):
    """CIoU of two xyxy boxes written out term by term."""
    wp, hp, wt, ht = p[2] - p[0], p[3] - p[1], t[2] - t[0], t[3] - t[1]
    iw = max(0.0, min(p[2], t[2]) - max(p[0], t[0]))
    ih = max(0.0, min(p[3], t[3]) - max(p[1], t[1]))
    iou = iw * ih / (wp * hp + wt * ht - iw * ih)
    cw = max(p[2], t[2]) - min(p[0], t[0])
    ch = max(p[3], t[3]) - min(p[1], t[1])
    rho2 = ((p[0] + p[2] - t[0] - t[2])**2 +
            (p[1] + p[3] - t[1] - t[3])**2) / 4
    v = 4 / math.pi**2 * (math.atan(wt / ht) - math.atan(wp / hp))**2
    alpha = v / (v - iou + 1)
    return iou - rho2 / (cw**2 + ch**2) - alpha * v


def test_losses_match_hand_computed_values_for_one_box():
    # one level, stride 8, a 2x2 map: priors at (4, 4), (12, 4), (4, 12),
    # (12, 12) px; one box (0, 0, 8, 8) contains only the first.
    head = YOLOv11Head(num_classes=1, in_channels=[16], strides=[8])
    cls = [torch.zeros(1, 1, 2, 2)]  # p = 0.5 everywhere
    dist = torch.zeros(1, 4, 16, 2, 2)  # (sides, bins): uniform elsewhere
    # prior 0, per side: bin logits -> probabilities -> expected side
    # left   [0, 0]        -> [1/2, 1/2]      -> 0.5 cells
    # top    [0, ln 3]     -> [1/4, 3/4]      -> 0.75
    # right  [0, 0, 0]     -> [1/3, 1/3, 1/3] -> 1.0
    # bottom [ln 3, 0]     -> [3/4, 1/4]      -> 0.25
    bins = torch.full((4, 16), NEG)
    bins[0, :2] = torch.tensor([0.0, 0.0])
    bins[1, :2] = torch.tensor([0.0, math.log(3)])
    bins[2, :3] = 0.0
    bins[3, :2] = torch.tensor([math.log(3), 0.0])
    dist[0, :, :, 0, 0] = bins
    dist = [dist.reshape(1, 64, 2, 2)]
    gt = InstanceData(
        bboxes=torch.tensor([[0.0, 0.0, 8.0, 8.0]]),
        labels=torch.tensor([0]))
    losses = head.loss_by_feat(cls, dist, [gt], [dict(img_shape=(16, 16))])

    # prediction around the anchor (0.5, 0.5) in cells; target box in cells
    pred, target = (0.0, -0.25, 1.5, 0.75), (0.0, 0.0, 1.0, 1.0)
    ciou = _ciou_by_hand(pred, target)
    assert 0.2 < ciou < 0.4  # a real overlap, not a degenerate case
    metric = 0.5**0.5 * ciou**6  # score^alpha * CIoU^beta
    t = metric * ciou / (metric + 1e-9)  # the positive's soft target
    # BCE with logit 0 is ln 2 for any target; 4 priors; sum of targets
    # t < 1 is clamped to 1
    torch.testing.assert_close(losses['loss_cls'],
                               torch.tensor(0.5 * 4 * math.log(2)))
    torch.testing.assert_close(
        losses['loss_bbox'], torch.tensor(7.5 * t * (1 - ciou)),
        rtol=1e-5, atol=1e-6)
    # DFL: every target side is 0.5 cells = half on bin 0, half on bin 1
    sides = [
        math.log(2),
        -0.5 * math.log(0.25) - 0.5 * math.log(0.75),
        math.log(3),
        -0.5 * math.log(0.75) - 0.5 * math.log(0.25),
    ]
    torch.testing.assert_close(
        losses['loss_dfl'], torch.tensor(1.5 * t * sum(sides) / 4),
        rtol=1e-5, atol=1e-6)

    # the losses are multiplied by the number of images in the batch
    two = head.loss_by_feat([c.repeat(2, 1, 1, 1) for c in cls],
                            [d.repeat(2, 1, 1, 1) for d in dist], [gt, gt],
                            [dict(img_shape=(16, 16))] * 2)
    # twice the sums over the same divisor (the target mass 2t < 1 is
    # still clamped to 1), times 2 images
    assert 2 * t < 1
    for key in ('loss_cls', 'loss_bbox', 'loss_dfl'):
        torch.testing.assert_close(two[key], 4 * losses[key], rtol=1e-5,
                                   atol=1e-6)


def _detector(num_classes=3):
    init_default_scope('mmdet')
    return MODELS.build(
        dict(
            type='YOLODetector',
            data_preprocessor=dict(
                type='DetDataPreprocessor',
                mean=[0.0, 0.0, 0.0],
                std=[255.0, 255.0, 255.0],
                bgr_to_rgb=True,
                pad_size_divisor=32),
            backbone=dict(type='YOLO11Backbone', arch='v12', scale='n'),
            neck=dict(type='YOLOPSTNeck', in_channels=[128, 128, 256]),
            bbox_head=dict(
                type='YOLOv11Head',
                num_classes=num_classes,
                in_channels=[64, 128, 256]),
            test_cfg=dict(
                nms_pre=1000,
                score_thr=0.0,
                nms=dict(type='nms', iou_threshold=0.7),
                max_per_img=50)))


def test_loss_backward_on_two_sizes_with_an_empty_image():
    torch.manual_seed(0)
    model = _detector()
    # neither image is a multiple of 32; the second has no boxes
    packed = demo_mm_inputs(2, [(3, 100, 70), (3, 64, 90)], num_items=[3, 0],
                            num_classes=3)
    model.train()
    data = model.data_preprocessor(packed, True)
    assert tuple(data['inputs'].shape[-2:]) == (128, 96)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
    total = sum(losses.values())
    assert torch.isfinite(total) and losses['loss_bbox'] > 0
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)

    # a batch whose images all lack boxes: only the classification loss
    packed = demo_mm_inputs(2, [(3, 64, 64)] * 2, num_items=[0, 0],
                            num_classes=3)
    model.zero_grad()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    assert losses['loss_bbox'] == 0 and losses['loss_dfl'] == 0
    assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'] > 0
    sum(losses.values()).backward()


def test_predict_boxes_lie_inside_their_images():
    torch.manual_seed(0)
    model = _detector().eval()
    packed = demo_mm_inputs(2, [(3, 100, 70), (3, 64, 90)], num_classes=3)
    with torch.no_grad():
        preds = model(**model.data_preprocessor(packed, False),
                      mode='predict')
    for pred in preds:
        boxes = pred.pred_instances.bboxes
        h, w = pred.ori_shape
        assert 0 < len(boxes) <= 50
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= w).all() and (
            boxes[:, 3] <= h).all()
        assert (boxes[:, 2:] >= boxes[:, :2]).all()
        assert set(pred.pred_instances.labels.tolist()) <= {0, 1, 2}


def test_bad_widths_and_levels():
    with pytest.raises(ValueError, match='one in_channels entry per stride'):
        YOLOv11Head(3, [64, 128], strides=(8, 16, 32))
    with pytest.raises(ValueError, match='reg_max'):
        YOLOv11Head(3, [64], strides=(8, ), reg_max=1)
    head = YOLOv11Head(3, [16, 32], strides=(8, 16))
    with pytest.raises(ValueError, match=r'expects 2 levels with channels '
                       r'\[16, 32\]'):
        head([torch.rand(1, 16, 4, 4), torch.rand(1, 16, 2, 2)])
