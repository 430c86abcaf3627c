# Second family (OpenMMLab-standard, not a paper model): torchvision-style
# ResNet-50 + PST-CLS with the official N widths (PST output 256, token
# width 128; ours: the 1x1 conv back to 2048 for LinearClsHead) on the
# paper's ImageNet recipe; identical to resnet50_gap_8xb32-200e_in1k.py but
# the neck. The ResNet-18/101 rows inherit this file and change the depth
# and widths. The paper's Table 3 model is
# bottleneck-r50_pst-n_8xb32-200e_in1k.py.
_base_ = '../_base_/pst-cls_paper-recipe_in1k.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(1024, 2048),
        channels=256,
        out_channels=2048,
        pst_cfg=dict(topk=8)))
