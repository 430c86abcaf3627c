# RetinaNet + sparse attention blocks (Chen, Yu, Ling, PR 2022) on P3-P5, in
# place of the FPN of the R-101 RetinaNet 1x row; nothing else differs from
# ../pst_det/retinanet_r101_fpn_1x_coco.py.
_base_ = '../pst_det/retinanet_r101_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='SAFPN',
        in_channels=[256, 512, 1024, 2048],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5))
