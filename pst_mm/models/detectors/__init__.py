# Copyright (c) pst-mm contributors. All rights reserved.
from .spt_detectors import (SPTCascadeRCNN, SPTFasterRCNN, SPTMaskRCNN,
                            SPTRetinaNet)
from .yolo_detector import YOLODetector

__all__ = [
    'YOLODetector', 'SPTFasterRCNN', 'SPTMaskRCNN', 'SPTCascadeRCNN',
    'SPTRetinaNet'
]
