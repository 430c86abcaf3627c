# Copyright (c) pst-mm contributors. All rights reserved.
"""Point-prior task-aligned assigner and the YOLO CIoU on hand-built
cases."""
import math

import pytest
import torch
from mmengine.structures import InstanceData

from pst_mm.models.losses import YOLOCIoULoss
from pst_mm.models.task_modules import PointTaskAlignedAssigner, bbox_ciou


def test_bbox_ciou_hand_computed():
    pred = torch.tensor([0., 0., 4., 2.])
    target = torch.tensor([0., 0., 2., 4.])
    iou = 4 / (8 + 8 - 4)
    rho2_over_c2 = 2 / 32  # centres (2, 1) and (1, 2); enclosing 4 x 4
    v = 4 / math.pi**2 * (math.atan(2 / 4) - math.atan(4 / 2))**2
    alpha = v / (v - iou + 1)
    expected = iou - (rho2_over_c2 + alpha * v)
    torch.testing.assert_close(
        bbox_ciou(pred, target), torch.tensor(expected), rtol=1e-5,
        atol=1e-6)
    # the aspect term stays on below IoU 0.5 (mmdet's CIoU drops it)
    loss = YOLOCIoULoss(loss_weight=2.0)(pred[None], target[None])
    torch.testing.assert_close(loss, torch.tensor(2 * (1 - expected)),
                               rtol=1e-5, atol=1e-6)


def _assign(points, pred_bboxes, gt_bboxes, gt_labels, num_classes=2,
            **kwargs):
    pred = InstanceData(
        priors=torch.tensor(points, dtype=torch.float),
        scores=torch.full((len(points), num_classes), 0.5),
        bboxes=torch.tensor(pred_bboxes, dtype=torch.float))
    gt = InstanceData(
        bboxes=torch.tensor(gt_bboxes, dtype=torch.float).reshape(-1, 4),
        labels=torch.tensor(gt_labels, dtype=torch.long))
    return PointTaskAlignedAssigner(**kwargs).assign(pred, gt)


def test_inside_one_box_two_overlapping_boxes_and_outside():
    # box A (label 1) inside box B (label 0)
    A, B = [0, 0, 20, 20], [5, 5, 40, 40]
    points = [[10, 10], [30, 30], [50, 50], [12, 12]]
    preds = [A, [10, 10, 40, 40], [45, 45, 55, 55], B]
    result = _assign(points, preds, [A, B], [1, 0])
    # p0, p3 are inside both boxes: each keeps the box its prediction
    # overlaps most; p1 is inside B only; p2 is outside every box.
    assert result.gt_inds.tolist() == [1, 2, 0, 2]
    assert result.labels.tolist() == [1, 0, -1, 0]
    # soft targets: metric / best metric of the box * best CIoU of the box
    c1 = 900 / 1225 - 12.5 / 2450  # CIoU(B, pred of p1): squares, no v term
    torch.testing.assert_close(
        result.get_extra_property('assign_metrics'),
        torch.tensor([1.0, c1**6, 0.0, 1.0]),
        rtol=1e-4,
        atol=1e-6)
    torch.testing.assert_close(result.max_overlaps,
                               torch.tensor([1.0, c1, 0.0, 1.0]),
                               rtol=1e-4, atol=1e-6)


def test_topk_keeps_the_best_aligned_priors():
    box = [0, 0, 40, 40]
    points = [[10, 10], [20, 20], [30, 30]]
    preds = [[0, 0, 30, 30], box, [5, 5, 40, 40]]
    result = _assign(points, preds, [box], [0], topk=1)
    assert result.gt_inds.tolist() == [0, 1, 0]


def test_point_on_the_border_is_outside():
    result = _assign([[0, 5], [5, 5]], [[0, 0, 10, 10]] * 2,
                     [[0, 0, 10, 10]], [1])
    assert result.gt_inds.tolist() == [0, 1]


def test_image_without_boxes():
    result = _assign([[4, 4], [12, 4]], [[0, 0, 8, 8]] * 2, [], [])
    assert result.num_gts == 0
    assert result.gt_inds.tolist() == [0, 0]
    assert result.labels.tolist() == [-1, -1]
    assert result.get_extra_property('assign_metrics').tolist() == [0, 0]


def test_priors_with_strides_and_bad_priors():
    # (x, y, stride_w, stride_h) priors read only x, y
    result = _assign([[10, 10, 8, 8]], [[0, 0, 20, 20]], [[0, 0, 20, 20]],
                     [0])
    assert result.gt_inds.tolist() == [1]
    with pytest.raises(ValueError, match='priors must be'):
        _assign([[10, 10, 8]], [[0, 0, 20, 20]], [[0, 0, 20, 20]], [0])
    with pytest.raises(ValueError, match='topk must be >= 1'):
        PointTaskAlignedAssigner(topk=0)
