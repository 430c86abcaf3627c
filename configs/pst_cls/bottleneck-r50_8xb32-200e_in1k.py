# PST paper, Table 3 row "R-50" (27.4 M): the baseline of the paper's
# classification models, i.e. the authors' r50-cls-pst.yaml without the
# PST: bottleneck ResNet-50 and the conv-before-pool head on C5. It differs
# from bottleneck-r50_pst-n_8xb32-200e_in1k.py only in the neck (and the
# head width that follows from it).
_base_ = './bottleneck-r50_pst-n_8xb32-200e_in1k.py'
model = dict(neck=None, head=dict(in_channels=2048))
