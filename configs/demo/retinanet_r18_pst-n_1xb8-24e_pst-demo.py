# Demo-size RetinaNet R-18 with the PST-DET-N neck: the FPN demo with only
# the neck replaced (width 64 like the demo FPN).
_base_ = './retinanet_r18_fpn_1xb8-24e_pst-demo.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTFPN',
        in_channels=[64, 128, 256, 512],
        start_level=1,
        out_channels=64,
        add_extra_convs='on_input',
        num_outs=5,
        preset='n',
        topk=8))
