# SPT-S Mask R-CNN 3x on COCO (paper Table 1, "SPT-S": 49.3 box AP, 171
# backbone GFLOPs, 76 M parameters; Table 4: 40.9 mask AP). From the paper:
# as SPT-T with Swin-S's depths plus four stage-3 blocks (2-2-22-2). From
# mmdet's Swin-S recipe: everything else. Ours: as SPT-T.
_base_ = [
    './mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py',
    '../_base_/models/spt.py'
]
model = dict(_base_.spt_models.s, type='SPTMaskRCNN')
