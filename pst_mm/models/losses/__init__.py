# Copyright (c) pst-mm contributors. All rights reserved.
from .select_loss import (ExtractedFeatures, SelectLossMixin,
                          build_select_targets, image_select_ratios,
                          select_loss)
from .yolo_ciou_loss import YOLOCIoULoss

__all__ = [
    'YOLOCIoULoss', 'ExtractedFeatures', 'SelectLossMixin',
    'build_select_targets', 'image_select_ratios', 'select_loss'
]
