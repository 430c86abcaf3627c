# Torchvision-style ResNet-101 + PST-CLS with the official S widths (PST
# output 512, token width 256) on the paper's ImageNet recipe; identical to
# resnet101_gap_8xb32-200e_in1k.py but the neck. The paper's Table 3 model
# is bottleneck-r101_pst-s_8xb32-200e_in1k.py.
_base_ = './resnet50_pst-n_8xb32-200e_in1k.py'
model = dict(backbone=dict(depth=101), neck=dict(channels=512))
