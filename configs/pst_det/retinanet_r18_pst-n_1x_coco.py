# PST-DET-N neck on the R-18 FPN baseline; nothing else differs.
_base_ = './retinanet_r18_fpn_1x_coco.py'
model = dict(
    neck=dict(
        type='PSTFPN', embed_channels=(64, 128), pst_cfg=dict(topk=8)))
