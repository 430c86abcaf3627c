# PST-DET-S neck (C' 128/256, twice PST-DET-N's) on the R-101 FPN baseline;
# nothing else differs.
_base_ = './retinanet_r101_fpn_1x_coco.py'
model = dict(
    neck=dict(
        type='PSTFPN', embed_channels=(128, 256), pst_cfg=dict(topk=8)))
