# PST paper, Table 2 baseline row "YOLOv11-N": the plain YOLOv11-N
# (C3k2 / SPPF / C2PSA backbone, C3k2 PAN; exactly Ultralytics' 2,624,080
# parameters), trained with the same recipe as YOLOv11-PST-N. The other
# YOLOv11 scales inherit this file and change the scale.
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(arch='v11'), neck=dict(layout='yolo11', use_pst=False))
