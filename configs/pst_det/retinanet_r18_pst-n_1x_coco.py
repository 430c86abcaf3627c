# PST-DET-N neck on the R-18 FPN baseline; nothing else differs.
_base_ = './retinanet_r18_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTFPN',
        in_channels=[64, 128, 256, 512],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5,
        preset='n',
        topk=8))
