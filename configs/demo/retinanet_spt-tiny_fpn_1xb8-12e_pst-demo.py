# Demo-size RetinaNet with a tiny SPT backbone on the pst-demo detection
# set: the Swin demo with SPA blocks in stages 3-4 and the selection loss.
# From the paper: threshold 0.01, loss weight 0.01, container = window**2,
# SPA from stage 3. Ours: the tiny sizes of the Swin demo (window 4,
# container 16), RetinaNet (the paper uses R-CNNs; the demo set has no
# masks and a single-stage detector trains fastest on the CPU).
_base_ = './retinanet_swin-tiny_fpn_1xb8-12e_pst-demo.py'
model = dict(
    type='SPTRetinaNet',
    select_loss_weight=0.01,
    backbone=dict(
        type='SPT',
        spa_stages=(2, 3),
        select_thr=0.01,
        noise='logistic',
        rel_pos_bias=False,
        pack_per_image=False))
