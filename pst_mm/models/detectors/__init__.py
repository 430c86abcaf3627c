# Copyright (c) pst-mm contributors. All rights reserved.
from .select_loss import (SelectLossMixin, build_select_targets,
                          image_select_ratios, select_loss)
from .spt_detectors import (SPTCascadeRCNN, SPTFasterRCNN, SPTMaskRCNN,
                            SPTRetinaNet)
from .yolo_detector import YOLODetector

__all__ = [
    'YOLODetector', 'SelectLossMixin', 'build_select_targets',
    'image_select_ratios', 'select_loss', 'SPTFasterRCNN', 'SPTMaskRCNN',
    'SPTCascadeRCNN', 'SPTRetinaNet'
]
