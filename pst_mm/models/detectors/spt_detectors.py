# Copyright (c) pst-mm contributors. All rights reserved.
"""mmdet detectors with SPT's selection loss: the host detector unchanged
plus :class:`SelectLossMixin` (``loss_select``, select ratios)."""
from mmdet.models.detectors import (CascadeRCNN, FasterRCNN, MaskRCNN,
                                    RetinaNet)
from mmdet.registry import MODELS

from ..losses.select_loss import SelectLossMixin


@MODELS.register_module()
class SPTFasterRCNN(SelectLossMixin, FasterRCNN):
    """Faster R-CNN with an SPT backbone and the selection loss.

    Args:
        select_loss_weight (float): See :class:`SelectLossMixin`.
            Defaults to 0.01.
        **kwargs: :class:`FasterRCNN` arguments.
    """


@MODELS.register_module()
class SPTMaskRCNN(SelectLossMixin, MaskRCNN):
    """Mask R-CNN with an SPT backbone and the selection loss (the paper's
    COCO / BDD100K detector for SPT-T/S, Tables 1-4).

    Args:
        select_loss_weight (float): See :class:`SelectLossMixin`.
            Defaults to 0.01.
        **kwargs: :class:`MaskRCNN` arguments.
    """


@MODELS.register_module()
class SPTCascadeRCNN(SelectLossMixin, CascadeRCNN):
    """Cascade (Mask) R-CNN with an SPT backbone and the selection loss
    (the paper's detector for SPT-B, Table 1).

    Args:
        select_loss_weight (float): See :class:`SelectLossMixin`.
            Defaults to 0.01.
        **kwargs: :class:`CascadeRCNN` arguments.
    """


@MODELS.register_module()
class SPTRetinaNet(SelectLossMixin, RetinaNet):
    """RetinaNet with an SPT backbone and the selection loss: the
    single-stage variant of the CPU demo (ours; the paper uses R-CNNs).

    Args:
        select_loss_weight (float): See :class:`SelectLossMixin`.
            Defaults to 0.01.
        **kwargs: :class:`RetinaNet` arguments.
    """


__all__ = ['SPTFasterRCNN', 'SPTMaskRCNN', 'SPTCascadeRCNN', 'SPTRetinaNet']
