# Copyright (c) pst-mm contributors. All rights reserved.
"""SPT's selection loss (paper Sec. 3.3, eq. 10) for any detector or
classifier: a pure target builder and a mixin.

The mixin reads the SPT backbone's score maps after the host's ``loss``
(mmdet detectors pass only images to the backbone), builds multi-scale binary
targets from the ground-truth boxes and adds
``loss_select = alpha * sum_maps mean_tokens BCE(s, y)``. ``predict`` needs
no ground truth; it stores each image's select ratios in the prediction's
metainfo (``select_ratios``) for :class:`SelectRatioMetric`.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def _gt_boxes(data_sample) -> Tensor:
    """``(n, 4)`` x1y1x2y2 boxes in input coordinates: mmdet's
    ``gt_instances.bboxes`` or a classification sample's ``gt_bboxes``."""
    if 'gt_instances' in data_sample:
        boxes = data_sample.gt_instances.bboxes
    elif 'gt_bboxes' in data_sample:
        boxes = data_sample.gt_bboxes
    else:
        raise ValueError('the selection loss needs boxes: data sample has '
                         'neither gt_instances.bboxes nor gt_bboxes')
    boxes = getattr(boxes, 'tensor', boxes)  # mmdet HorizontalBoxes
    return torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)


def build_select_targets(batch_data_samples: Sequence,
                         grid_shapes: Sequence[Tuple[int, int]],
                         strides: Sequence[int]) -> List[Tensor]:
    """Multi-scale binary selection labels from ground-truth boxes.

    Cell ``(i, j)`` of a map at stride ``s`` covers the input pixels
    ``[j*s, (j+1)*s) x [i*s, (i+1)*s)``; it is positive when that window
    overlaps a box with positive area (the paper: ">= 1 pixel", App. B.3).
    Boxes are in the coordinates of the (resized, flipped) network input,
    so batch padding cells are negative. A sample without boxes gives an
    all-negative map.

    Args:
        batch_data_samples (Sequence): Data samples with boxes.
        grid_shapes (Sequence[tuple[int, int]]): ``(h, w)`` of each map.
        strides (Sequence[int]): Input stride of each map.

    Returns:
        list[Tensor]: ``(B, 1, h, w)`` float targets, one per map.
    """
    if len(grid_shapes) != len(strides):
        raise ValueError(f'{len(grid_shapes)} grid shapes but '
                         f'{len(strides)} strides')
    boxes = [_gt_boxes(ds) for ds in batch_data_samples]
    targets = []
    for (h, w), s in zip(grid_shapes, strides):
        maps = []
        for b in boxes:
            y0 = torch.arange(h, dtype=torch.float32) * s
            x0 = torch.arange(w, dtype=torch.float32) * s
            oy = (torch.minimum(y0[None] + s, b[:, 3:4]) -
                  torch.maximum(y0[None], b[:, 1:2])) > 0
            ox = (torch.minimum(x0[None] + s, b[:, 2:3]) -
                  torch.maximum(x0[None], b[:, 0:1])) > 0
            maps.append((oy[:, :, None] & ox[:, None, :]).any(0)
                        if len(b) else torch.zeros(h, w, dtype=torch.bool))
        targets.append(torch.stack(maps).unsqueeze(1).float())
    return targets


def select_loss(logits: Sequence[Tensor], targets: Sequence[Tensor],
                weight: float) -> Tensor:
    """``weight * sum_maps mean BCE-with-logits`` in fp32 (eq. 10; the
    mean per map is our reading: the paper's sum over thousands of tokens
    at alpha 0.01 would swamp the task loss)."""
    return weight * sum(
        F.binary_cross_entropy_with_logits(s.float(), t.to(s.device))
        for s, t in zip(logits, targets))


def image_select_ratios(selection, data_samples: Sequence) -> List[Dict]:
    """Per image and SPA stage, the share of selected tokens inside the
    image (batch padding excluded)."""
    out = []
    for b, ds in enumerate(data_samples):
        H, W = ds.metainfo.get('img_shape', (None, None))[:2]
        ratios: Dict[str, List[float]] = {}
        for m, st, s in zip(selection.masks, selection.stages,
                            selection.strides[-len(selection.masks):]):
            mb = m[b]
            if H is not None:
                mb = mb[:-(-H // s), :-(-W // s)]
            ratios.setdefault(f'select_ratio_s{st + 1}',
                              []).append(float(mb.float().mean()))
        out.append({k: sum(v) / len(v) for k, v in ratios.items()})
    return out


class SelectLossMixin:
    """Adds SPT's selection loss to a detector or classifier; put it first
    in the bases: ``class SPTMaskRCNN(SelectLossMixin, MaskRCNN)``.

    The host's ``loss``/``predict`` code runs unchanged: the SPT backbone
    keeps its latest selection (``last_selection``, with its graph in
    training), which ``loss`` reads after the host's forward.

    Args:
        select_loss_weight (float): ``alpha`` (paper Sec. 3.3). Defaults to
            0.01 (paper Sec. 4.1). 0 keeps ``loss_select`` in the log with
            no gradient (the paper's "w/o L_select" rows).
        *args, **kwargs: The host model's arguments.
    """

    def __init__(self, *args, select_loss_weight: float = 0.01,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not select_loss_weight >= 0:
            raise ValueError('select_loss_weight must be >= 0, got '
                             f'{select_loss_weight!r}')
        if not hasattr(self.backbone, 'last_selection'):
            raise ValueError(f'{type(self).__name__} needs an SPT backbone, '
                             f'got {type(self.backbone).__name__}')
        self.select_loss_weight = select_loss_weight

    def loss(self, inputs: Tensor, data_samples: Sequence) -> dict:
        """Host losses plus ``loss_select`` and the per-stage select
        ratios (logged, not summed: their keys hold no ``'loss'``)."""
        self.backbone.last_selection = None
        losses = super().loss(inputs, data_samples)
        sel = self.backbone.last_selection
        self.backbone.last_selection = None
        if sel is None:
            raise RuntimeError(f'{type(self).__name__}.loss: the backbone '
                               'was not called')
        targets = build_select_targets(
            data_samples, [tuple(s.shape[-2:]) for s in sel.logits],
            sel.strides)
        losses['loss_select'] = select_loss(sel.logits, targets,
                                            self.select_loss_weight)
        losses.update(sel.ratios)
        return losses

    def predict(self, inputs: Tensor, data_samples: Optional[Sequence] = None,
                *args, **kwargs):
        """Host predictions; each carries ``select_ratios`` in its
        metainfo."""
        results = super().predict(inputs, data_samples, *args, **kwargs)
        sel = self.backbone.last_selection
        if sel is not None:
            # the results carry the inputs' metainfo (img_shape)
            for res, ratios in zip(results,
                                   image_select_ratios(sel, results)):
                res.set_metainfo(dict(select_ratios=ratios))
        return results


__all__ = [
    'SelectLossMixin', 'build_select_targets', 'select_loss',
    'image_select_ratios'
]
