# AC-FPN (Cao et al., arXiv 2005.11475): CEM on C5 + attention-guided module,
# in place of the FPN of the R-50 RetinaNet 1x row; nothing else differs from
# ../pst_det/retinanet_r50_fpn_1x_coco.py.
_base_ = '../pst_det/retinanet_r50_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='ACFPN',
        in_channels=[256, 512, 1024, 2048],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5))
