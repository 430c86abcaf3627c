# Plain ResNet-50 baseline on the PST paper's ImageNet recipe; the PST row
# (resnet50-pst-n_8xb32_in1k.py) differs only in `model.neck`.
_base_ = '../_base_/pst-cls_paper-recipe_in1k.py'
