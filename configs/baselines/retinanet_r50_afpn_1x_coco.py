# AFPN (Min, Lee, Lee, Neural Networks 2022): dynamic texture attention +
# foreground-aware co-attention, in place of the FPN of the R-50 RetinaNet 1x
# row; nothing else differs from ../pst_det/retinanet_r50_fpn_1x_coco.py.
_base_ = '../pst_det/retinanet_r50_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='AttentionalFPN',
        in_channels=[256, 512, 1024, 2048],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5))
