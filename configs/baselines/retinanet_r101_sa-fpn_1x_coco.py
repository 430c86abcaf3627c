# The R-50 row with mmdet's R-101 backbone, as mmdet's own
# retinanet_r101_fpn_1x_coco.py is written; the neck is the R-50 row's, so
# this differs from ../pst_det/retinanet_r101_fpn_1x_coco.py only in it.
_base_ = './retinanet_r50_sa-fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
