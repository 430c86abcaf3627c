# PST paper, Table 2 baseline row "YOLOv11-M": the plain YOLOv11-M (exactly
# Ultralytics' 20,114,688 parameters), trained with the same recipe as
# YOLOv11-PST-M.
_base_ = './yolo11-n_8xb16-600e_coco.py'
model = {{_base_.scale_models.m}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.m}}))
custom_hooks = {{_base_.custom_hooks_by_scale.m}}
