# Second family (OpenMMLab-standard, not a paper model): torchvision-style
# ResNet-101 + PST-CLS with the official S widths (PST output 512, token
# width 256; ours: the 1x1 conv back to 2048 for LinearClsHead) on the
# paper's ImageNet recipe; identical to resnet101-gap_8xb32_in1k.py but the
# neck. The paper's Table 3 model is paper_r101-pst-s_8xb32-200e_in1k.py.
_base_ = './resnet101-gap_8xb32_in1k.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(1024, 2048),
        channels=512,
        out_channels=2048,
        topk=8))
