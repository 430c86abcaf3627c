# PST-DET-S neck (C' twice the N preset) on the R-101 FPN baseline; nothing
# else differs.
_base_ = './retinanet_r101_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTFPN',
        in_channels=[256, 512, 1024, 2048],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5,
        preset='s',
        topk=8))
