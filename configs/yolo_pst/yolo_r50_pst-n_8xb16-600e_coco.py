# PST paper, Table 1 row "R-50-PST-N": the authors' r50-pst.yaml, i.e. the
# bottleneck ResNet-50 (SiLU convs, ReLU after the sum, trained from
# scratch), P5' = 1x1 conv + A2C2f with global attention, the PST-N neck and
# the YOLOv11 head (official build 26.05 M parameters; paper 26.0 M). Recipe
# of YOLOv11-PST-N (see the base's header).
_base_ = '../_base_/yolo-pst_paper-recipe_coco.py'
model = dict(
    backbone=dict(_delete_=True, type='YOLOResNet', depth=50),
    neck=dict(in_channels=[512, 1024, 2048], p5_attention=True))
