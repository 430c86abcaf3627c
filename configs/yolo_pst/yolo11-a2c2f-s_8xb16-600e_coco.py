# Layout-matched baseline of YOLOv11-PST-S (yolo11-a2c2f-n says what it is).
_base_ = './yolo11-pst-s_8xb16-600e_coco.py'
model = dict(neck=dict(use_pst=False))
