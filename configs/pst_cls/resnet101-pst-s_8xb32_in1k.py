# ResNet-101 + PST-CLS (C' = 1024, paper appendix Table 5) on the paper's
# ImageNet recipe; identical to resnet101-gap_8xb32_in1k.py but the neck.
_base_ = './resnet101-gap_8xb32_in1k.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(1024, 2048),
        embed_channels=1024,
        topk=8))
