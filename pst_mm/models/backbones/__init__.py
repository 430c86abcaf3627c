# Copyright (c) pst-mm contributors. All rights reserved.
from .yolo11_backbone import YOLO11Backbone
from .yolo_resnet import YOLOResNet

__all__ = ['YOLO11Backbone', 'YOLOResNet']
