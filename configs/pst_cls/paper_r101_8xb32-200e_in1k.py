# PST paper, Table 3 row "R-101" (46.4 M): bottleneck ResNet-101 with the
# head and recipe of paper_r50_8xb32-200e_in1k.py.
_base_ = './paper_r50_8xb32-200e_in1k.py'
model = dict(backbone=dict(depth=101))
