# Copyright (c) pst-mm contributors. All rights reserved.
from .yolo_ciou_loss import YOLOCIoULoss

__all__ = ['YOLOCIoULoss']
