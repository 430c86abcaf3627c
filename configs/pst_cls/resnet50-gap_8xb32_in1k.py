# Plain ResNet-50 baseline on the PST paper's ImageNet recipe: the PST row
# (resnet50-pst-n_8xb32_in1k.py) differs only in `model.neck`. The
# backbone also returns C4 (out_indices=(2, 3)) so that both rows share it;
# global average pooling and LinearClsHead use only C5.
_base_ = [
    'mmpretrain::resnet/resnet50_8xb32_in1k.py',
    '../_base_/pst-cls_paper-recipe_in1k.py'
]
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)
model = dict(backbone=dict(out_indices=(2, 3)))
