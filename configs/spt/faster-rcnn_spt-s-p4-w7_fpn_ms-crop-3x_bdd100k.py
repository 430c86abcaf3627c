# SPT-S Faster R-CNN 3x on BDD100K (paper Table 2, "SPT-S": 22.9 box AP,
# 155 backbone GFLOPs, 76 M parameters). The Swin-S twin with Swin-S's
# depths plus four stage-3 blocks (2-2-22-2) and the selection loss.
_base_ = [
    './faster-rcnn_swin-s-p4-w7_fpn_ms-crop-3x_bdd100k.py',
    '../_base_/models/spt.py'
]
model = dict(_base_.spt_models.s, type='SPTFasterRCNN')
