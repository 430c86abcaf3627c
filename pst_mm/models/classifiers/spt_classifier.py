# Copyright (c) pst-mm contributors. All rights reserved.
"""mmpretrain classifier with SPT's selection loss: the multi-label VOC
experiments of the paper (Tables 5 and 7), where the selection labels come
from the VOC object boxes."""
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS

from ..losses.select_loss import SelectLossMixin


@MODELS.register_module()
class SPTImageClassifier(SelectLossMixin, ImageClassifier):
    """:class:`~mmpretrain.models.ImageClassifier` with an SPT backbone and
    the selection loss.

    Each training sample needs its object boxes as ``gt_bboxes`` (``(n, 4)``
    x1y1x2y2 in input pixels), e.g. from
    :class:`~pst_mm.datasets.VOCWithBoxes` packed with
    ``PackInputs(algorithm_keys=('gt_bboxes', ))``; the targets are built by
    the same :func:`~pst_mm.models.losses.build_select_targets` as for
    the detectors. ``predict`` needs no boxes and stores each image's select
    ratios in its metainfo (for :class:`~pst_mm.evaluation.
    SelectRatioMetric`).

    Args:
        select_loss_weight (float): See :class:`SelectLossMixin`.
            Defaults to 0.01.
        **kwargs: :class:`~mmpretrain.models.ImageClassifier` arguments.
    """


__all__ = ['SPTImageClassifier']
