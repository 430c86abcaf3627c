# ResNet-18 + PST-CLS on mmpretrain's standard ResNet recipe (100 epochs,
# SGD lr 0.1, steps at 30/60/90), for a like-for-like comparison with
# mmpretrain's published resnet18_8xb32_in1k numbers: only the neck (and the
# backbone's extra C4 output it reads) differ.
_base_ = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(out_indices=(2, 3)),
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(256, 512),
        channels=256,
        out_channels=512,
        topk=8))
