# YOLO11-L (not in the paper): the plain YOLOv11 at scale l (exactly
# Ultralytics' 25,372,160 parameters), so converted Ultralytics YOLO11-L
# checkpoints have a config; the recipe of the base with Ultralytics'
# YOLO11-L augmentation (see the base's scale_aug).
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(arch='v11', scale='l'),
    neck=dict(
        scale='l',
        in_channels=[512, 512, 512],
        layout='yolo11',
        use_pst=False),
    bbox_head=dict(in_channels=[256, 512, 512]))
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.l}}))
custom_hooks = {{_base_.custom_hooks_by_scale.l}}
