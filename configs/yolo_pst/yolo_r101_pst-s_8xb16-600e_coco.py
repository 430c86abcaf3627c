# PST paper, Table 1 row "R-101-PST-S": the bottleneck ResNet-101 with the
# PST-S neck and head widths (official build 50.28 M parameters; paper
# 49.9 M) and the S augmentation of Table 5.
_base_ = './yolo_r50_pst-n_8xb16-600e_coco.py'
model = dict(
    backbone=dict(depth=101),
    neck=dict(scale='s'),
    bbox_head=dict(in_channels=[128, 256, 512]))
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.s}}))
custom_hooks = {{_base_.custom_hooks_by_scale.s}}
