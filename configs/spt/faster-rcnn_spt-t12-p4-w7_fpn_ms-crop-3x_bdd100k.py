# SPT-T/12 Faster R-CNN 3x on BDD100K: the appendix's lightweight variant
# (paper App. B.2, Table 8: 22.3 AP, 48 M parameters, 62 FPS vs SPT-T/16's
# 22.6 AP, 55 M, 58 FPS). Ours: "/12" read as 12 blocks, Swin-T's depths
# 2-2-6-2 (this gives Swin-T's 48 M parameters plus the gates); otherwise
# as SPT-T (/16 = 2-2-10-2).
_base_ = './faster-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_bdd100k.py'
model = dict(backbone=dict(depths=[2, 2, 6, 2]))
