# Layout-matched baseline of YOLOv11-PST-M (yolo11-a2c2f-n says what it is).
_base_ = './yolo11-pst-m_8xb16-600e_coco.py'
model = dict(neck=dict(use_pst=False))
