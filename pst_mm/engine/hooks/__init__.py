# Copyright (c) pst-mm contributors. All rights reserved.
from .yolo_ema_hook import YOLOEMAHook
from .yolo_model_ema import YOLOModelEMA
from .yolo_param_scheduler_hook import YOLOParamSchedulerHook

__all__ = ['YOLOParamSchedulerHook', 'YOLOEMAHook', 'YOLOModelEMA']
