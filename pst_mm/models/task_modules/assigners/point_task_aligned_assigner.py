# Copyright (c) pst-mm contributors. All rights reserved.
import math
from typing import Optional

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor


def bbox_ciou(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """Complete IoU of broadcastable ``(..., 4)`` xyxy boxes (Zheng et al.,
    AAAI 2020) as the YOLO recipes compute it: the aspect-ratio term is
    always on (``alpha = v / (v - IoU + 1)``, no gradient through alpha).

    mmdet's ``CIoULoss`` zeroes that term when IoU <= 0.5, so the YOLO head
    and assigner use this function instead.

    Args:
        pred (Tensor): Boxes (..., 4).
        target (Tensor): Boxes (..., 4).
        eps (float): Numerical guard. Defaults to 1e-7.

    Returns:
        Tensor: CIoU in (-1.5, 1], shape of the broadcast batch dims.
    """
    px1, py1, px2, py2 = pred.unbind(-1)
    tx1, ty1, tx2, ty2 = target.unbind(-1)
    w1, h1 = px2 - px1, py2 - py1 + eps
    w2, h2 = tx2 - tx1, ty2 - ty1 + eps
    inter = (torch.min(px2, tx2) - torch.max(px1, tx1)).clamp(0) * (
        torch.min(py2, ty2) - torch.max(py1, ty1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = torch.max(px2, tx2) - torch.min(px1, tx1)
    ch = torch.max(py2, ty2) - torch.min(py1, ty1)
    c2 = cw**2 + ch**2 + eps
    rho2 = ((tx1 + tx2 - px1 - px2)**2 + (ty1 + ty2 - py1 - py2)**2) / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1))**2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


@TASK_UTILS.register_module()
class PointTaskAlignedAssigner(BaseAssigner):
    """Task-aligned assigner (TOOD) for point priors, as the YOLOv8/v11
    recipe uses it.

    For every ground-truth box: the candidates are the priors whose point
    lies strictly inside the box; the alignment metric of a candidate is
    ``score^alpha * CIoU^beta`` (``score`` = predicted probability of the
    box's class, ``CIoU`` of the predicted box, clamped at 0); the ``topk``
    priors with the largest metric are positives. A prior positive for
    several boxes keeps the one it overlaps most (CIoU). Each positive gets
    a soft target ``metric / max metric of its box * max CIoU of its box``
    (``assign_metrics``), the classification target of the YOLO head.

    mmdet's ``TaskAlignedAssigner`` reads the priors as boxes
    (``priors[:, :4]``) and so assigns point priors wrongly; it also takes
    the top-k before the inside-box test and uses plain IoU.

    Args:
        topk (int): Positives per box. Defaults to 10.
        alpha (float): Exponent of the classification score.
            Defaults to 0.5.
        beta (float): Exponent of the CIoU. Defaults to 6.0.
        eps (float): Inside-box margin and normaliser guard.
            Defaults to 1e-9.
    """

    def __init__(self,
                 topk: int = 10,
                 alpha: float = 0.5,
                 beta: float = 6.0,
                 eps: float = 1e-9) -> None:
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        self.topk = topk
        self.alpha = alpha
        self.beta = beta
        self.eps = eps

    def assign(self,
               pred_instances: InstanceData,
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None,
               **kwargs) -> AssignResult:
        """Assign the priors of one image.

        Args:
            pred_instances (InstanceData): ``priors`` (A, 2) points, or
                (A, 4) ``(x, y, stride_w, stride_h)`` (only x, y are read);
                ``scores`` (A, num_classes) probabilities; ``bboxes``
                (A, 4) predicted xyxy boxes, all in pixels.
            gt_instances (InstanceData): ``bboxes`` (G, 4) xyxy and
                ``labels`` (G, ).
            gt_instances_ignore (InstanceData, optional): Unused.

        Returns:
            :obj:`AssignResult`: ``gt_inds`` (1-based, 0 = background),
            ``labels`` (-1 = background), ``max_overlaps`` (CIoU with the
            assigned box) and the extra property ``assign_metrics`` (A, ),
            the normalised alignment of each positive (0 elsewhere).
        """
        priors = pred_instances.priors
        scores = pred_instances.scores
        pred_bboxes = pred_instances.bboxes
        gt_bboxes = gt_instances.bboxes
        gt_labels = gt_instances.labels
        num_priors, num_gts = priors.size(0), gt_bboxes.size(0)
        if priors.dim() != 2 or priors.size(1) not in (2, 4):
            raise ValueError(f'priors must be (A, 2) points or (A, 4) '
                             f'(x, y, stride_w, stride_h), got '
                             f'{tuple(priors.shape)}')
        gt_inds = priors.new_zeros(num_priors, dtype=torch.long)
        labels = priors.new_full((num_priors, ), -1, dtype=torch.long)
        max_overlaps = priors.new_zeros(num_priors)
        if num_gts == 0 or num_priors == 0:
            result = AssignResult(num_gts, gt_inds, max_overlaps, labels)
            result.set_extra_property('assign_metrics',
                                      priors.new_zeros(num_priors))
            return result

        points = priors[:, :2]
        # (G, A): point strictly inside the box
        deltas = torch.cat([points[None] - gt_bboxes[:, None, :2],
                            gt_bboxes[:, None, 2:] - points[None]], -1)
        inside = deltas.amin(-1) > self.eps

        overlaps = torch.zeros_like(inside, dtype=pred_bboxes.dtype)
        g, a = inside.nonzero(as_tuple=True)
        overlaps[g, a] = bbox_ciou(gt_bboxes[g], pred_bboxes[a]).clamp(
            0).to(overlaps.dtype)
        cls_scores = scores[:, gt_labels].t() * inside
        metrics = cls_scores.pow(self.alpha) * overlaps.pow(self.beta)

        topk = min(self.topk, num_priors)
        topk_idx = metrics.topk(topk, dim=1).indices
        is_topk = torch.zeros_like(inside).scatter_(1, topk_idx, True)
        pos = is_topk & inside  # (G, A)

        # A prior positive for several boxes keeps the best-overlapping one.
        multi = pos.sum(0) > 1
        if multi.any():
            best = overlaps.argmax(0)
            best_onehot = torch.zeros_like(pos).scatter_(0, best[None], True)
            pos = torch.where(multi[None], best_onehot, pos)

        fg = pos.any(0)
        assigned = pos.to(torch.uint8).argmax(0)
        metrics = metrics * pos
        norm = metrics * (overlaps * pos).amax(1, keepdim=True) / (
            metrics.amax(1, keepdim=True) + self.eps)
        assign_metrics = norm.amax(0)

        gt_inds[fg] = assigned[fg] + 1
        labels[fg] = gt_labels[assigned[fg]].long()
        max_overlaps[fg] = overlaps[assigned[fg], fg.nonzero(
            as_tuple=True)[0]]
        result = AssignResult(num_gts, gt_inds, max_overlaps, labels)
        result.set_extra_property('assign_metrics', assign_metrics)
        return result
