# Copyright (c) pst-mm contributors. All rights reserved.

from .bottleneck_resnet import BottleneckResNet
from .spt import SPT, SPABlock
from .yolo11_backbone import YOLO11Backbone
from .yolo_resnet import YOLOResNet

__all__ = [
    'BottleneckResNet', 'SPT', 'SPABlock', 'YOLO11Backbone', 'YOLOResNet'
]
