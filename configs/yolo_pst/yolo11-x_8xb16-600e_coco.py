# YOLO11-X (not in the paper): the plain YOLOv11 at scale x (exactly
# Ultralytics' 56,966,176 parameters), so converted Ultralytics YOLO11-X
# checkpoints have a config; the recipe of the base with Ultralytics'
# YOLO11-X augmentation (see the base's scale_aug).
_base_ = './yolo11-n_8xb16-600e_coco.py'
model = {{_base_.scale_models.x}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.x}}))
custom_hooks = {{_base_.custom_hooks_by_scale.x}}
