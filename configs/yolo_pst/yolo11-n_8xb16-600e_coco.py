# PST paper, Table 2 baseline row "YOLOv11-N": the plain YOLOv11-N
# (C3k2 / SPPF / C2PSA backbone, C3k2 PAN; exactly Ultralytics' 2,624,080
# parameters), trained with the same recipe as YOLOv11-PST-N.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(arch='v11', scale='n'),
    neck=dict(
        scale='n',
        in_channels=[128, 128, 256],
        layout='yolo11',
        use_pst=False),
    bbox_head=dict(in_channels=[64, 128, 256]))
