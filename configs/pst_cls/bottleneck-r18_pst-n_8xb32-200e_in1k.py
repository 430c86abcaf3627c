# PST paper, Table 3 row "R-18-PST-N" (19.6 M): the R-50-PST-N neck (code:
# r18-cls-pst.yaml, scale n) on the paper's bottleneck "R-18".
_base_ = './bottleneck-r50_pst-n_8xb32-200e_in1k.py'
model = dict(backbone=dict(depth=18))
