# Sparse attention blocks on P3-P5 (Chen, Yu, Ling, PR 2022), in place of the
# FPN of the R-50 RetinaNet 1x row; the neck keeps that row's inputs, width,
# levels and extra convs, nothing else differs.
_base_ = '../pst_det/retinanet_r50_fpn_1x_coco.py'
model = dict(neck=dict(type='SAFPN'))
