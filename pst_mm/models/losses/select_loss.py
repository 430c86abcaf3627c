# Copyright (c) pst-mm contributors. All rights reserved.
"""SPT's selection loss (paper Sec. 3.3, eq. 10) for any detector or
classifier: pure target, loss and ratio functions, and the mixin that adds
``loss_select`` to an mmdet detector or an mmpretrain classifier.

**How the selection reaches the loss: a return value, then an argument.**
The mixin calls the backbone itself, ``backbone(x, return_select=True)``,
and gets the features and the :class:`~pst_mm.models.backbones.spt.
SPTSelection` of that very call as its return value; the host's unchanged
``loss``/``predict`` then receive the already-extracted features as their
``inputs`` argument (wrapped in :class:`ExtractedFeatures`, which the
mixin's ``extract_feat`` unwraps). So the backbone runs once per step, no
module keeps a selection between calls (nothing to clear, nothing stale
when a forward fails or two models share a process), and no mmdet or
mmpretrain ``loss``/``predict`` body is copied. mmengine's ``MessageHub``
was the other option; it is a process-wide singleton, i.e. the same hidden
coupling with a wider reach.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..backbones.spt import SPT, SPTSelection


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


def image_select_ratios(selection: SPTSelection,
                        data_samples: Sequence) -> List[Dict]:
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


class ExtractedFeatures(NamedTuple):
    """Features that :class:`SelectLossMixin` extracted (backbone and
    neck), handed to the host's ``loss``/``predict`` in place of the
    images; the mixin's ``extract_feat`` returns them unchanged.

    Attributes:
        feats (tuple[Tensor]): The neck's (or the backbone's) outputs.
    """
    feats: Tuple[Tensor, ...]


class SelectLossMixin:
    """Adds SPT's selection loss to a detector or classifier; put it first
    in the bases: ``class SPTMaskRCNN(SelectLossMixin, MaskRCNN)``.

    ``loss`` and ``predict`` extract the features and the selection in one
    call (:meth:`extract_feat_and_selection`) and run the host's own
    ``loss``/``predict`` on those features (see the module docstring);
    ``mode='tensor'`` and other ``extract_feat`` callers get the host's
    behaviour.

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
        if not isinstance(self.backbone, SPT):
            raise ValueError(f'{type(self).__name__} needs an SPT backbone, '
                             f'got {type(self.backbone).__name__}')
        self.select_loss_weight = select_loss_weight

    def extract_feat_and_selection(
            self, inputs: Tensor) -> Tuple[Tuple[Tensor, ...], SPTSelection]:
        """Backbone (and neck) features and the backbone's selection, from
        one backbone call.

        Args:
            inputs (Tensor): ``(B, 3, H, W)`` images.

        Returns:
            tuple[tuple[Tensor], SPTSelection]: Features as the host's
            ``extract_feat`` returns them, and the selection.
        """
        feats, selection = self.backbone(inputs, return_select=True)
        if self.with_neck:
            feats = self.neck(feats)
        return feats, selection

    def extract_feat(self, inputs, *args, **kwargs):
        """The host's ``extract_feat``; features already extracted by this
        mixin (:class:`ExtractedFeatures`) are returned as they are."""
        if isinstance(inputs, ExtractedFeatures):
            return inputs.feats
        return super().extract_feat(inputs, *args, **kwargs)

    def loss(self, inputs: Tensor, data_samples: Sequence) -> dict:
        """Host losses plus ``loss_select`` and the per-stage select
        ratios (logged, not summed: their keys hold no ``'loss'``)."""
        feats, sel = self.extract_feat_and_selection(inputs)
        losses = super().loss(ExtractedFeatures(feats), data_samples)
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
        feats, sel = self.extract_feat_and_selection(inputs)
        results = super().predict(
            ExtractedFeatures(feats), data_samples, *args, **kwargs)
        # the results carry the inputs' metainfo (img_shape)
        for res, ratios in zip(results, image_select_ratios(sel, results)):
            res.set_metainfo(dict(select_ratios=ratios))
        return results


__all__ = [
    'ExtractedFeatures', 'SelectLossMixin', 'build_select_targets',
    'select_loss', 'image_select_ratios'
]
