# Layout-matched baseline of YOLOv11-PST-N (not Ultralytics' YOLOv12): the
# released yolo11-pst layout (YOLOv12-N backbone with plain stride convs)
# with each PST replaced by the block it replaced (A2C2f without
# attention). It differs from yolo11-pst-n_8xb16-600e_coco.py only in
# model.neck.use_pst.
_base_ = './yolo11-pst-n_8xb16-600e_coco.py'
model = dict(neck=dict(use_pst=False))
