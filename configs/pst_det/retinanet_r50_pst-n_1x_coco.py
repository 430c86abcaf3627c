# PST-DET-N neck on the FPN baseline; nothing else differs: the neck keeps
# the FPN row's inputs, width, levels and extra convs and adds the PST
# options. Fine attention is off in training and on (top-8) at test; switch
# with --cfg-options model.neck.pst_cfg.topk=0.
_base_ = './retinanet_r50_fpn_1x_coco.py'
model = dict(
    neck=dict(
        type='PSTFPN', embed_channels=(64, 128), pst_cfg=dict(topk=8)))
