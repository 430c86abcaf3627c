# AFPN (Min, Lee, Lee, Neural Networks 2022: dynamic texture attention +
# foreground-aware co-attention), in place of the FPN of the R-101 RetinaNet 1x
# row; the neck keeps that row's inputs, width, levels and extra convs, nothing
# else differs.
_base_ = '../pst_det/retinanet_r101_fpn_1x_coco.py'
model = dict(neck=dict(type='AttentionalFPN'))
