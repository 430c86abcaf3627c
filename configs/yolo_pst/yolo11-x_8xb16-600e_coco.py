# YOLO11-X (not in the paper): the plain YOLOv11 at scale x (exactly
# Ultralytics' 56,966,176 parameters), so converted Ultralytics YOLO11-X
# checkpoints have a config; the recipe of the base with Ultralytics'
# YOLO11-X augmentation (see the base's scale_aug).
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(arch='v11', scale='x'),
    neck=dict(
        scale='x',
        in_channels=[768, 768, 768],
        layout='yolo11',
        use_pst=False),
    bbox_head=dict(in_channels=[384, 768, 768]))
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.x}}))
custom_hooks = {{_base_.custom_hooks_by_scale.x}}
