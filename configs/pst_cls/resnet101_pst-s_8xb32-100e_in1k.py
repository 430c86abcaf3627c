# ResNet-101 + PST-CLS (S widths) on mmpretrain's standard ResNet recipe
# (100 epochs), to compare with mmpretrain's published
# resnet101_8xb32_in1k numbers.
_base_ = './resnet50_pst-n_8xb32-100e_in1k.py'
model = dict(backbone=dict(depth=101), neck=dict(channels=512))
