# PST paper, Table 3 row "R-101-PST-S" (54.4 M). From the authors' code
# (r101-cls-pst.yaml, scale s): output width 512, token width 256, 3x3 and
# 1x1 convs of 512, head on 512 channels.
_base_ = './bottleneck-r50_pst-n_8xb32-200e_in1k.py'
model = dict(
    backbone=dict(depth=101),
    neck=dict(channels=512),
    head=dict(in_channels=512))
