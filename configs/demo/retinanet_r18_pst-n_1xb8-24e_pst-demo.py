# Demo-size RetinaNet R-18 with the PST-DET-N neck: the FPN demo with only
# the neck replaced (width 64 like the demo FPN).
_base_ = './retinanet_r18_fpn_1xb8-24e_pst-demo.py'
model = dict(
    neck=dict(
        type='PSTFPN', embed_channels=(64, 128), pst_cfg=dict(topk=8)))
