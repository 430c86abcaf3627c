# Second family (OpenMMLab-standard, not a paper model): torchvision-style
# ResNet-18 (BasicBlock) + PST-CLS with the official N widths (PST output
# 256, token width 128; ours: the 1x1 conv back to 512 for LinearClsHead) on
# the paper's ImageNet recipe; identical to resnet18-gap_8xb32_in1k.py but
# the neck. The paper's Table 3 model is paper_r18-pst-n_8xb32-200e_in1k.py.
_base_ = './resnet18-gap_8xb32_in1k.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(256, 512),
        channels=256,
        out_channels=512,
        topk=8))
