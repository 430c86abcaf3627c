# R-18-PST-N with the paper's recipe (see the R-50 file for what is the
# paper's and what is ours). Only the backbone and the widths change.
_base_ = './rtmdet_r50_pst-n_8xb32-600e_coco.py'
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[128, 256, 512], out_channels=128),
    bbox_head=dict(in_channels=128, feat_channels=128))
