# PST paper, Table 2 baseline row "YOLOv11-S": the plain YOLOv11-S (exactly
# Ultralytics' 9,458,752 parameters), trained with the same recipe as
# YOLOv11-PST-S.
_base_ = './yolo11-n_8xb16-600e_coco.py'
model = {{_base_.scale_models.s}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.s}}))
custom_hooks = {{_base_.custom_hooks_by_scale.s}}
