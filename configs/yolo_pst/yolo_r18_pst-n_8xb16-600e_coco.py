# PST paper, Table 1 row "R-18-PST-N": r50-pst-n with the authors'
# bottleneck "R-18" ((2, 2, 2, 2) bottlenecks, 2048-channel C5; official
# build 16.49 M parameters; paper 16.4 M).
_base_ = './yolo_r50_pst-n_8xb16-600e_coco.py'
model = dict(backbone=dict(depth=18))
