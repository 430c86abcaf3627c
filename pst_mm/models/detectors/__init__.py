# Copyright (c) pst-mm contributors. All rights reserved.
from .yolo_detector import YOLODetector

__all__ = ['YOLODetector']
