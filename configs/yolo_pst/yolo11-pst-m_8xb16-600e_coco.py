# PST paper, Table 2 row "YOLOv11-PST-M" (official build 20,176,832
# parameters; paper 19.5 M), with the M augmentation of Table 5.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = {{_base_.scale_models.m}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.m}}))
custom_hooks = {{_base_.custom_hooks_by_scale.m}}
