# Plain ResNet-101 baseline on the PST paper's ImageNet recipe; the PST row
# (resnet101_pst-s_8xb32-200e_in1k.py) differs only in `model.neck`.
_base_ = '../_base_/pst-cls_paper-recipe_in1k.py'
model = dict(backbone=dict(depth=101))
