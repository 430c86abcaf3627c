# Plain ResNet-18 baseline on the PST paper's ImageNet recipe; the PST row
# (resnet18_pst-n_8xb32-200e_in1k.py) differs only in `model.neck`.
_base_ = '../_base_/pst-cls_paper-recipe_in1k.py'
model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
