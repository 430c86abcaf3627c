# SPT-T Faster R-CNN 3x on BDD-S (paper Table 3, "SPT-T": 5.6 box AP, 80
# backbone GFLOPs, 62 FPS; App. B.1: select ratio 33 % with the plain BCE).
# The Swin-T BDD-S twin with SPT-T's backbone and the selection loss.
_base_ = [
    './faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k-s.py',
    '../_base_/models/spt.py'
]
model = dict(_base_.spt_models.t, type='SPTFasterRCNN')
