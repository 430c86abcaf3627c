# Torchvision-style ResNet-18 (BasicBlock) + PST-CLS with the official N
# widths (PST output 256, token width 128; ours: the 1x1 conv back to 512
# for LinearClsHead) on the paper's ImageNet recipe; identical to
# resnet18_gap_8xb32-200e_in1k.py but the neck. The paper's Table 3 model
# is bottleneck-r18_pst-n_8xb32-200e_in1k.py.
_base_ = './resnet50_pst-n_8xb32-200e_in1k.py'
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=(256, 512), out_channels=512),
    head=dict(in_channels=512))
