# Demo-size ResNet-18 + PST-CLS (C' = 256, as for ResNet-18 in the paper):
# the demo baseline with only the neck replaced.
_base_ = './resnet18_gap_1xb16-30e_pst-demo.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(256, 512),
        channels=256,
        out_channels=512,
        pst_cfg=dict(topk=8)))
