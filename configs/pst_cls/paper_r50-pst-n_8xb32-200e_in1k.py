# PST paper, Table 3 row "R-50-PST-N" (29.2 M). From the authors' code
# (r50-cls-pst.yaml, scale n): PST(queries C4, keys/values C5) with output
# width 256 and token width 128 (e = 0.5), concat C4, 3x3 s2 conv (256),
# concat C5, 1x1 conv (256), then the baseline's head on 256 channels.
# Fine attention: top-8 at test time (paper Table 4a); trained coarse-only.
# fusion='gate': the authors' code builds the gate (Table 3 counts include
# it; pst-mm's default is the paper's eq. 6 sum, see the README).
_base_ = './paper_r50_8xb32-200e_in1k.py'
model = dict(
    backbone=dict(out_indices=(2, 3)),
    neck=dict(
        _delete_=True,
        type='PSTClsNeck',
        in_channels=(1024, 2048),
        channels=256,
        global_pool=False,
        fusion='gate',
        topk=8),
    head=dict(in_channels=256))
