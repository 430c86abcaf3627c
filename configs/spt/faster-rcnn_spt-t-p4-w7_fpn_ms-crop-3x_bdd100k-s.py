# SPT-T Faster R-CNN 3x on BDD-S (paper Table 3, "SPT-T": 5.6 box AP, 80
# backbone GFLOPs, 62 FPS; App. B.1: select ratio 33 % with the plain BCE).
# The Swin-T BDD-S twin with SPT-T's backbone and the selection loss.
_base_ = './faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k-s.py'
model = dict(
    type='SPTFasterRCNN',
    select_loss_weight=0.01,
    backbone=dict(
        type='SPT',
        depths=[2, 2, 10, 2],
        spa_stages=(2, 3),
        container_len=49,
        select_thr=0.01,
        noise='logistic',
        rel_pos_bias=False,
        pack_per_image=False))
