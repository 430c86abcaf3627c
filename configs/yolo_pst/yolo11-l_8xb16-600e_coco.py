# YOLO11-L (not in the paper): the plain YOLOv11 at scale l (exactly
# Ultralytics' 25,372,160 parameters), so converted Ultralytics YOLO11-L
# checkpoints have a config; the recipe of the base with Ultralytics'
# YOLO11-L augmentation (see the base's scale_aug).
_base_ = './yolo11-n_8xb16-600e_coco.py'
model = {{_base_.scale_models.l}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.l}}))
custom_hooks = {{_base_.custom_hooks_by_scale.l}}
