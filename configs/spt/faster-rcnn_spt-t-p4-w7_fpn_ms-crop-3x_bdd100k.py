# SPT-T Faster R-CNN 3x on BDD100K (paper Table 2, "SPT-T": 22.6 box AP,
# 84 backbone GFLOPs, 58 FPS; Table 6: select ratios 23.21 / 25.01 % in
# stages 3 / 4 with L_select, 85.02 / 52.41 % without). The Swin-T twin with
# SPT-T's backbone and the selection loss; SPA settings as the COCO SPT-T.
_base_ = './faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py'
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
