# Copyright (c) pst-mm contributors. All rights reserved.
from .yolo11_head import YOLOv11Head

__all__ = ['YOLOv11Head']
