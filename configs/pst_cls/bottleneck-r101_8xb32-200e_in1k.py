# PST paper, Table 3 row "R-101" (46.4 M): bottleneck ResNet-101 with the
# head and recipe of bottleneck-r50.
_base_ = './bottleneck-r50_pst-n_8xb32-200e_in1k.py'
model = dict(
    backbone=dict(depth=101), neck=None, head=dict(in_channels=2048))
