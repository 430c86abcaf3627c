# PST paper, Table 3 row "R-50" (27.4 M): the baseline of the paper's
# classification models. From the authors' code (r50-cls-pst.yaml without
# the PST): a bottleneck ResNet-50 and a conv-before-pool head (1x1 conv to
# 1280 + BN + SiLU, global average pooling, dropout 0, linear), the
# Ultralytics ``Classify`` every Table 3 row uses. Recipe: the paper's
# (../_base_/pst-cls_paper-recipe_in1k.py, which lists where the authors'
# training script differs).
_base_ = '../_base_/pst-cls_paper-recipe_in1k.py'
model = dict(
    backbone=dict(type='BottleneckResNet', depth=50),
    neck=None,
    head=dict(
        _delete_=True,
        type='ConvPoolClsHead',
        num_classes=1000,
        in_channels=2048,
        mid_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
