# Swin-S Faster R-CNN 3x on BDD100K: the dense baseline of SPT-S (paper
# Table 2, "Swin-S": 22.6 box AP). The Swin-T BDD100K recipe with Swin-S's
# depths and ImageNet-1k weights, as mmdet derives its Swin-S config.
_base_ = './faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py'
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_small_patch4_window7_224.pth'  # noqa
model = dict(
    backbone=dict(
        depths=[2, 2, 18, 2],
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
