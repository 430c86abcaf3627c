# PST paper, Table 2 baseline row "YOLOv11-M": the plain YOLOv11-M
# (C3k2 / SPPF / C2PSA backbone, C3k2 PAN; exactly Ultralytics' 20,114,688
# parameters), trained with the same recipe as YOLOv11-PST-M.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(arch='v11', scale='m'),
    neck=dict(
        scale='m',
        in_channels=[512, 512, 512],
        layout='yolo11',
        use_pst=False),
    bbox_head=dict(in_channels=[256, 512, 512]))
train_dataloader = dict(dataset=dict(pipeline={{_base_.train_pipelines.m}}))
custom_hooks = {{_base_.custom_hooks_by_scale.m}}
