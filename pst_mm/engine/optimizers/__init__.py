# Copyright (c) pst-mm contributors. All rights reserved.
from .yolo_amp_optim_wrapper import YOLOAmpOptimWrapper
from .yolo_optim_wrapper import YOLOOptimWrapper
from .yolo_param_groups_constructor import (NORM_TYPES,
                                            YOLOParamGroupsConstructor,
                                            yolo_param_groups)

__all__ = [
    'YOLOOptimWrapper', 'YOLOAmpOptimWrapper', 'YOLOParamGroupsConstructor',
    'yolo_param_groups', 'NORM_TYPES'
]
