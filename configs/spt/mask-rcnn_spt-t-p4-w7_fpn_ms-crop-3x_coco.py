# SPT-T Mask R-CNN 3x on COCO (paper Table 1, "SPT-T": 47.1 box AP, 90
# backbone GFLOPs at 1280x800, 55 M parameters; Table 4: 39.3 mask AP).
# From the paper: Mask R-CNN, 36 epochs, window 7, container length 49,
# selection threshold 0.01, selection loss weight 0.01, SPA blocks in
# stages 3-4, four extra stage-3 blocks (depths 2-2-10-2) (Secs. 3.1, 4.1,
# 4.2). From mmdet's Swin-T recipe (the paper: "default training
# settings"): ms-crop augmentation, AdamW lr 1e-4, wd 0.05, milestones
# 27/33, drop path 0.2, Swin-T ImageNet-1k weights (the extra blocks and the
# gates start from scratch), 8 GPUs x 2 images (the paper trains with batch
# 2). Ours (the paper is silent): logistic noise (the two-class
# Gumbel-Softmax), no relative-position bias between packed tokens, gate
# after norm1, mean BCE per score map.
_base_ = [
    './mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
    '../_base_/models/spt.py'
]
model = dict(_base_.spt_models.t, type='SPTMaskRCNN')
