# Copyright (c) pst-mm contributors. All rights reserved.
from .hooks import YOLOEMAHook, YOLOModelEMA, YOLOParamSchedulerHook
from .optimizers import (NORM_TYPES, YOLOAmpOptimWrapper, YOLOOptimWrapper,
                         YOLOParamGroupsConstructor, yolo_param_groups)

__all__ = [
    'YOLOParamSchedulerHook', 'YOLOEMAHook', 'YOLOModelEMA',
    'YOLOOptimWrapper', 'YOLOAmpOptimWrapper', 'YOLOParamGroupsConstructor',
    'yolo_param_groups', 'NORM_TYPES'
]
