# Copyright (c) pst-mm contributors. All rights reserved.
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import (ConfigType, InstanceList, OptConfigType,
                         OptInstanceList, OptMultiConfig)
from mmengine.config import ConfigDict
from mmengine.dist import get_world_size
from mmengine.structures import InstanceData
from torch import Tensor
from torchvision.ops import nms

from ..layers.yolo_blocks import YOLO_ACT_CFG, YOLO_NORM_CFG, yolo_conv


@MODELS.register_module()
class YOLOv11Head(BaseDenseHead):
    """Anchor-free decoupled detection head of YOLOv8 / YOLOv11.

    Per level a box tower (two 3x3 convs of width ``max(16, C0/4, 4R)``,
    then a 1x1 conv to ``4 x R`` bin logits: each side of the box as a
    distribution over R = ``reg_max`` bins, stride units) and a class
    tower (YOLOv11: two [3x3 depthwise conv, 1x1 conv] pairs of width
    ``max(C0, min(num_classes, 100))``), then a 1x1 conv to the class
    logits.
    The box is decoded as the expectation of each side's softmax
    (distribution focal loss, Li et al., 2020) around point priors at the
    cell centres.

    Losses as in the reference recipe: BCE against the task-aligned soft
    targets (:class:`PointTaskAlignedAssigner`), CIoU and DFL on the
    positives weighted by their target score, all divided by the sum of the
    target scores, with gains 0.5 / 7.5 / 1.5, and multiplied by the number
    of images in the whole batch (``scale_loss_by_batch``; the reference
    trainer's SGD learning rate is tuned for those summed losses).

    Inference as the reference validator (see :meth:`predict_by_feat`):
    class scores ``sigmoid(logits)``, every class above ``score_thr`` a
    candidate (multi-label), at most ``nms_pre`` over all levels,
    class-aware NMS, ``max_per_img`` (0.001 / 30000 / 0.7 / 300 for
    evaluation), boxes mapped back through the letterbox's ``pad_param``.

    The fixed DFL expectation weights (``0..R-1``) are a frozen parameter
    (``dfl_bins``), so the parameter count equals the reference models'
    (which count their frozen 1x1 DFL conv).

    Args:
        num_classes (int): Number of classes.
        in_channels (Sequence[int]): Channels of each input level.
        strides (Sequence[int]): Strides of the levels. Defaults to
            (8, 16, 32).
        reg_max (int): Bins per side (R; mmdet's ``reg_max`` R - 1).
            Defaults to 16.
        loss_cls (dict): Classification loss. Defaults to sigmoid BCE,
            weight 0.5.
        loss_bbox (dict): Box loss. Defaults to :class:`YOLOCIoULoss`,
            weight 7.5.
        loss_dfl (dict): Distribution focal loss. Defaults to mmdet's
            ``DistributionFocalLoss``, weight 1.5.
        scale_loss_by_batch (bool): Multiply the losses by the number of
            images over all processes. Defaults to True.
        train_cfg (dict, optional): ``assigner`` config. Defaults to None
            (a :class:`PointTaskAlignedAssigner` with top-10, alpha 0.5,
            beta 6).
        test_cfg (dict, optional): ``score_thr``, ``nms``, ``nms_pre``,
            ``max_per_img``. Defaults to None.
        norm_cfg (dict): Norm config of the tower convs. Defaults to
            ``YOLO_NORM_CFG`` (BN, eps 1e-3, momentum 0.03).
        act_cfg (dict): Activation config of the tower convs. Defaults to
            ``YOLO_ACT_CFG`` (SiLU).
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to None.

    Example:
        >>> import torch
        >>> head = YOLOv11Head(80, [64, 128, 256])
        >>> feats = [torch.rand(1, c, 80 // 2**i, 80 // 2**i)
        ...          for i, c in enumerate([64, 128, 256])]
        >>> cls_scores, bbox_dists = head(feats)
        >>> tuple(cls_scores[0].shape), tuple(bbox_dists[0].shape)
        ((1, 80, 80, 80), (1, 64, 80, 80))
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: Sequence[int],
                 strides: Sequence[int] = (8, 16, 32),
                 reg_max: int = 16,
                 loss_cls: ConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     reduction='mean',
                     loss_weight=0.5),
                 loss_bbox: ConfigType = dict(
                     type='YOLOCIoULoss', reduction='mean', loss_weight=7.5),
                 loss_dfl: ConfigType = dict(
                     type='DistributionFocalLoss',
                     reduction='mean',
                     loss_weight=1.5),
                 scale_loss_by_batch: bool = True,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = YOLO_NORM_CFG,
                 act_cfg: ConfigType = YOLO_ACT_CFG,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels = list(in_channels)
        strides = list(strides)
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if len(in_channels) != len(strides) or not in_channels:
            raise ValueError(
                f'YOLOv11Head needs one in_channels entry per stride: '
                f'in_channels={in_channels}, strides={strides}')
        if reg_max < 2:
            raise ValueError(f'reg_max (bins per side) must be >= 2, got '
                             f'{reg_max}')
        self.num_classes = num_classes
        self.cls_out_channels = num_classes
        self.use_sigmoid_cls = True
        self.in_channels = in_channels
        self.strides = strides
        self.reg_max = reg_max
        self.scale_loss_by_batch = scale_loss_by_batch
        self.train_cfg = train_cfg
        # mmdet's post-processing reads attributes (cfg.nms): plain dicts too
        self.test_cfg = None if test_cfg is None else ConfigDict(test_cfg)

        c0 = in_channels[0]
        reg_ch = max(16, c0 // 4, 4 * reg_max)
        cls_ch = max(c0, min(num_classes, 100))
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.reg_convs = nn.ModuleList()
        self.cls_convs = nn.ModuleList()
        for c in in_channels:
            self.reg_convs.append(
                nn.Sequential(
                    yolo_conv(c, reg_ch, 3, **cfg),
                    yolo_conv(reg_ch, reg_ch, 3, **cfg),
                    nn.Conv2d(reg_ch, 4 * reg_max, 1)))
            self.cls_convs.append(
                nn.Sequential(
                    nn.Sequential(
                        yolo_conv(c, c, 3, groups=c, **cfg),
                        yolo_conv(c, cls_ch, 1, **cfg)),
                    nn.Sequential(
                        yolo_conv(cls_ch, cls_ch, 3, groups=cls_ch, **cfg),
                        yolo_conv(cls_ch, cls_ch, 1, **cfg)),
                    nn.Conv2d(cls_ch, num_classes, 1)))
        self.dfl_bins = nn.Parameter(
            torch.arange(reg_max, dtype=torch.float), requires_grad=False)

        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_dfl = MODELS.build(loss_dfl)
        self.prior_generator = TASK_UTILS.build(
            dict(type='MlvlPointGenerator', strides=strides, offset=0.5))
        self.bbox_coder = TASK_UTILS.build(
            dict(type='DistancePointBBoxCoder'))
        assigner = (train_cfg or {}).get(
            'assigner',
            dict(type='PointTaskAlignedAssigner', topk=10, alpha=0.5,
                 beta=6.0))
        self.assigner = TASK_UTILS.build(assigner)
        self._init_biases()

    def _init_biases(self) -> None:
        """Box logits bias 1; class bias ``log(5 / nc / (640 / s)^2)``: about
        five objects per 640x640 image at the start."""
        for reg, cls, s in zip(self.reg_convs, self.cls_convs, self.strides):
            nn.init.constant_(reg[-1].bias, 1.0)
            nn.init.constant_(cls[-1].bias,
                              math.log(5 / self.num_classes / (640 / s)**2))

    def init_weights(self) -> None:
        super().init_weights()
        self._init_biases()

    def forward(self, x: Sequence[Tensor]) -> Tuple[List[Tensor], ...]:
        """
        Args:
            x (Sequence[Tensor]): One map per level, (B, C_i, H_i, W_i).

        Returns:
            tuple[list[Tensor]]: Class logits (B, num_classes, H_i, W_i) and
            box-bin logits (B, 4 * reg_max, H_i, W_i) per level.
        """
        if len(x) != len(self.in_channels) or [
                f.shape[1] for f in x
        ] != self.in_channels:
            raise ValueError(
                f'YOLOv11Head expects {len(self.in_channels)} levels with '
                f'channels {self.in_channels}, got '
                f'{[tuple(f.shape) for f in x]}')
        cls_scores = [conv(f) for conv, f in zip(self.cls_convs, x)]
        bbox_dists = [conv(f) for conv, f in zip(self.reg_convs, x)]
        return cls_scores, bbox_dists

    def _decode_sides(self, dist: Tensor) -> Tensor:
        """Bin logits (..., 4 * R) -> expected side distances (..., 4)."""
        prob = dist.unflatten(-1, (4, self.reg_max)).softmax(-1)
        return prob @ self.dfl_bins.to(prob.dtype)

    def loss_by_feat(
            self,
            cls_scores: List[Tensor],
            bbox_dists: List[Tensor],
            batch_gt_instances: InstanceList,
            batch_img_metas: List[dict],
            batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """BCE, CIoU and DFL losses of a batch.

        Args:
            cls_scores (list[Tensor]): Class logits per level.
            bbox_dists (list[Tensor]): Box-bin logits per level.
            batch_gt_instances (list[:obj:`InstanceData`]): ``bboxes``
                (xyxy, pixels of the network input) and ``labels``.
            batch_img_metas (list[dict]): Image metas.
            batch_gt_instances_ignore (list[:obj:`InstanceData`], optional):
                Unused. Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss_cls``, ``loss_bbox``, ``loss_dfl``.
        """
        num_imgs = len(batch_img_metas)
        device = cls_scores[0].device
        featmap_sizes = [c.shape[-2:] for c in cls_scores]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes, dtype=torch.float, device=device,
                with_stride=True))
        strides = priors[:, 2:3]
        anchors = priors[:, :2] / strides  # cell units
        flat_cls = torch.cat([
            c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_classes)
            for c in cls_scores
        ], 1)
        flat_dist = torch.cat([
            d.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4 * self.reg_max)
            for d in bbox_dists
        ], 1)
        sides = self._decode_sides(flat_dist.float())
        boxes = torch.cat([anchors - sides[..., :2], anchors + sides[..., 2:]],
                          -1)  # (B, A, 4), cell units

        target_scores = torch.zeros_like(flat_cls, dtype=torch.float)
        target_boxes = torch.zeros_like(boxes)
        pixel_boxes = (boxes * strides).detach()
        probs = flat_cls.detach().float().sigmoid()
        for i, gt in enumerate(batch_gt_instances):
            result = self.assigner.assign(
                InstanceData(
                    priors=priors, scores=probs[i], bboxes=pixel_boxes[i]),
                gt)
            fg = result.gt_inds > 0
            if fg.any():
                idx = fg.nonzero(as_tuple=True)[0]
                target_scores[i, idx, result.labels[idx]] = \
                    result.get_extra_property('assign_metrics')[idx]
                target_boxes[i, idx] = gt.bboxes[result.gt_inds[idx] -
                                                 1].float()
        fg_mask = target_scores.sum(-1) > 0
        score_sum = target_scores.sum().clamp(min=1)

        loss_cls = self.loss_cls(
            flat_cls.reshape(-1, self.num_classes).float(),
            target_scores.reshape(-1, self.num_classes),
            avg_factor=score_sum)
        if fg_mask.any():
            weight = target_scores.sum(-1)[fg_mask]
            targets = (target_boxes / strides)[fg_mask]
            loss_bbox = self.loss_bbox(
                boxes[fg_mask], targets, weight=weight, avg_factor=score_sum)
            anchor_fg = anchors.expand(num_imgs, -1, -1)[fg_mask]
            target_sides = torch.cat(
                [anchor_fg - targets[:, :2], targets[:, 2:] - anchor_fg],
                -1).clamp(0, self.reg_max - 1 - 0.01)
            loss_dfl = self.loss_dfl(
                flat_dist[fg_mask].reshape(-1, self.reg_max).float(),
                target_sides.reshape(-1),
                weight=weight[:, None].expand(-1, 4).reshape(-1),
                avg_factor=4 * score_sum)
        else:
            loss_bbox = loss_dfl = flat_dist.sum() * 0
        if self.scale_loss_by_batch:
            scale = num_imgs * get_world_size()
            loss_cls, loss_bbox, loss_dfl = (loss_cls * scale,
                                             loss_bbox * scale,
                                             loss_dfl * scale)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_dfl=loss_dfl)

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: OptConfigType = None,
                        rescale: bool = False,
                        with_nms: bool = True) -> InstanceList:
        """Boxes, scores and labels per image, post-processed as the
        reference validator does (Ultralytics ``non_max_suppression`` and
        ``scale_boxes``), so that converted checkpoints reproduce the
        published COCO numbers.

        mmdet's dense-head post-processing differs in ways that move COCO
        AP: it keeps ``nms_pre`` candidates per level (here: over all
        levels), clips boxes to the image before NMS (here: after mapping
        back), and maps letterboxed boxes back with two per-axis scales and
        no pad offset. Here, per image:

        1. every (prior, class) pair with ``sigmoid(logit) > score_thr`` is
           a candidate (multi-label), in prior-major order;
        2. when there are more than ``nms_pre``, the highest-scoring
           ``nms_pre`` are kept;
        3. class-aware NMS (``torchvision.ops.nms`` on boxes shifted by
           ``label * class_offset``, 7680 px) at ``nms.iou_threshold``,
           unless ``nms.class_agnostic``; then the first ``max_per_img``;
        4. with ``rescale``: if the image meta has ``pad_param`` (top,
           bottom, left, right; :class:`YOLOLetterBox`), the (left, top)
           pad is subtracted and the boxes divided by one gain for both
           axes, ``scale_factor[1]`` (resized / original height: Ultralytics'
           ``ratio_pad``); otherwise by ``scale_factor`` per axis (mmdet's
           meaning). Boxes are clipped to ``ori_shape``, or to
           ``img_shape`` without ``rescale``.

        Args:
            cls_scores (list[Tensor]): Class logits per level,
                (B, num_classes, H_i, W_i).
            bbox_preds (list[Tensor]): Box-bin logits per level,
                (B, 4 * reg_max, H_i, W_i).
            score_factors (list[Tensor], optional): Unused.
                Defaults to None.
            batch_img_metas (list[dict], optional): Image metas.
                Defaults to None.
            cfg (dict, optional): Test config (``score_thr``, ``nms_pre``,
                ``nms``, ``max_per_img``, optional ``class_offset``);
                None = ``test_cfg``. Defaults to None.
            rescale (bool): Boxes in original image space.
                Defaults to False.
            with_nms (bool): Apply NMS and ``max_per_img``; if False the
                candidates of steps 1-2 are returned. Defaults to True.

        Returns:
            list[:obj:`InstanceData`]: ``bboxes`` (xyxy), ``scores``,
            ``labels`` per image, by descending score after NMS.
        """
        cfg = ConfigDict(self.test_cfg if cfg is None else cfg)
        score_thr = cfg.get('score_thr', 0.0)
        nms_pre = cfg.get('nms_pre', -1)
        max_per_img = cfg.get('max_per_img', -1)
        class_offset = cfg.get('class_offset', 7680)
        nms_cfg = cfg.get('nms') or {}
        if with_nms and nms_cfg.get('type', 'nms') != 'nms':
            raise ValueError(f"YOLOv11Head supports nms type 'nms' only, "
                             f"got {nms_cfg.get('type')!r}")
        iou_thr = nms_cfg.get('iou_threshold', 0.7)
        num_imgs = cls_scores[0].shape[0]
        if batch_img_metas is None:
            batch_img_metas = [{} for _ in range(num_imgs)]
        boxes = self._decode_boxes(bbox_preds)
        scores = torch.cat([
            c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.num_classes)
            for c in cls_scores
        ], 1).sigmoid()

        results = []
        for img_boxes, img_scores, meta in zip(boxes, scores,
                                               batch_img_metas):
            prior_idx, labels = (img_scores > score_thr).nonzero(
                as_tuple=True)
            cand_scores = img_scores[prior_idx, labels]
            cand_boxes = img_boxes[prior_idx]
            if 0 < nms_pre < len(cand_scores):
                keep = cand_scores.argsort(descending=True)[:nms_pre]
                cand_scores, labels = cand_scores[keep], labels[keep]
                cand_boxes = cand_boxes[keep]
            if with_nms and len(cand_scores):
                offset = 0 if nms_cfg.get('class_agnostic', False) else \
                    class_offset
                keep = nms(cand_boxes + labels[:, None].to(cand_boxes) *
                           offset, cand_scores, iou_thr)
                if max_per_img > 0:
                    keep = keep[:max_per_img]
                cand_scores, labels = cand_scores[keep], labels[keep]
                cand_boxes = cand_boxes[keep]
            if rescale:
                cand_boxes = self._to_original_image(cand_boxes, meta)
            elif 'img_shape' in meta:
                cand_boxes = self._clip(cand_boxes, meta['img_shape'])
            results.append(
                InstanceData(
                    bboxes=cand_boxes, scores=cand_scores, labels=labels))
        return results

    def _decode_boxes(self, bbox_preds: List[Tensor]) -> Tensor:
        """Box-bin logits -> (B, A, 4) xyxy boxes in input pixels.

        Written as the reference model computes it (softmax over the bins
        of a (B, R, 4, A) view, the expectation as a 1x1 convolution with
        weights ``0..R-1``, sides in cells around the cell centre, centre
        and size scaled by the stride, then xyxy): the same operations in
        the same order give the same float32 boxes, where the training
        path's matmul differs in the last bits.
        """
        num_imgs, R = bbox_preds[0].shape[0], self.reg_max
        featmap_sizes = [d.shape[-2:] for d in bbox_preds]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes,
                dtype=bbox_preds[0].dtype,
                device=bbox_preds[0].device,
                with_stride=True))
        strides = priors[:, 2]
        anchors = (priors[:, :2] / priors[:, 2:]).t()  # (2, A), cells
        dist = torch.cat([d.flatten(2) for d in bbox_preds], 2)
        prob = dist.view(num_imgs, 4, R, -1).transpose(2, 1).softmax(1)
        sides = F.conv2d(prob, self.dfl_bins.to(prob).view(1, R, 1, 1))
        sides = sides.view(num_imgs, 4, -1)
        x1y1 = anchors - sides[:, :2]
        x2y2 = anchors + sides[:, 2:]
        xywh = torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * strides
        xy, half = xywh[:, :2], xywh[:, 2:] / 2
        return torch.cat([xy - half, xy + half], 1).transpose(1, 2)

    @staticmethod
    def _clip(boxes: Tensor, shape: Sequence[int]) -> Tensor:
        h, w = shape[:2]
        return torch.stack([
            boxes[:, 0].clamp(0, w), boxes[:, 1].clamp(0, h),
            boxes[:, 2].clamp(0, w), boxes[:, 3].clamp(0, h)
        ], -1)

    def _to_original_image(self, boxes: Tensor, meta: dict) -> Tensor:
        """Input-pixel boxes -> original-image boxes, clipped to it."""
        scale_factor = meta.get('scale_factor', (1.0, 1.0))
        if 'pad_param' in meta:
            top, _, left, _ = (float(v) for v in meta['pad_param'])
            boxes = boxes - boxes.new_tensor([left, top, left, top])
            boxes = boxes / float(scale_factor[1])
        else:
            boxes = boxes / boxes.new_tensor(scale_factor).repeat(2)
        return self._clip(boxes, meta.get('ori_shape', meta.get(
            'img_shape')))
