# ResNet-18 + PST-CLS on mmpretrain's standard ResNet recipe (100 epochs),
# to compare with mmpretrain's published resnet18_8xb32_in1k numbers.
_base_ = './resnet50_pst-n_8xb32-100e_in1k.py'
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=(256, 512), out_channels=512),
    head=dict(in_channels=512))
