# ResNet-50 + PST-CLS on mmpretrain's standard ResNet recipe (100 epochs,
# SGD lr 0.1, steps at 30/60/90), for a like-for-like comparison with
# mmpretrain's published resnet50_8xb32_in1k numbers: only the neck (and the
# backbone's extra C4 output it reads) differ. The ResNet-18/101 rows
# inherit this file and change the depth and widths (mmpretrain's
# resnet18/101 configs differ from its resnet50 one only there).
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(out_indices=(2, 3)),
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(1024, 2048),
        channels=256,
        out_channels=2048,
        pst_cfg=dict(topk=8)))
