# ResNet-18 + PST-CLS (C' = 256, paper appendix Table 5) on the paper's
# ImageNet recipe; identical to resnet18-gap_8xb32_in1k.py but the neck.
_base_ = './resnet18-gap_8xb32_in1k.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(256, 512),
        embed_channels=256,
        topk=8))
