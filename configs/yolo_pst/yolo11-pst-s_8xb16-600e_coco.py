# PST paper, Table 2 row "YOLOv11-PST-S" (official build 9,320,064
# parameters; paper 9.3 M), with the S augmentation of Table 5.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = {{_base_.scale_models.s}}
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.s}}))
custom_hooks = {{_base_.custom_hooks_by_scale.s}}
