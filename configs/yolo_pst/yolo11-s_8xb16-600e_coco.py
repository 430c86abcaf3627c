# PST paper, Table 2 baseline row "YOLOv11-S": the plain YOLOv11-S
# (C3k2 / SPPF / C2PSA backbone, C3k2 PAN; exactly Ultralytics' 9,458,752
# parameters), trained with the same recipe as YOLOv11-PST-S.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(arch='v11', scale='s'),
    neck=dict(
        scale='s',
        in_channels=[256, 256, 512],
        layout='yolo11',
        use_pst=False),
    bbox_head=dict(in_channels=[128, 256, 512]))
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.s}}))
custom_hooks = {{_base_.custom_hooks_by_scale.s}}
