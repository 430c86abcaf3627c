# SPT-T Faster R-CNN 3x on BDD100K (paper Table 2, "SPT-T": 22.6 box AP,
# 84 backbone GFLOPs, 58 FPS; Table 6: select ratios 23.21 / 25.01 % in
# stages 3 / 4 with L_select, 85.02 / 52.41 % without). The Swin-T twin with
# SPT-T's backbone and the selection loss; SPA settings as the COCO SPT-T.
_base_ = [
    './faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py',
    '../_base_/models/spt.py'
]
model = dict(_base_.spt_models.t, type='SPTFasterRCNN')
