# The held-out study's short recipe with the PST-DET-N neck: only the neck
# differs from the FPN twin (width 64, as there).
_base_ = './retinanet_r18_fpn_1xb4-300i_heldout.py'
model = dict(
    neck=dict(
        type='PSTFPN', embed_channels=(64, 128), pst_cfg=dict(topk=8)))
