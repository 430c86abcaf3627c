# PST-DET-N neck on the FPN baseline; nothing else differs. Fine attention
# is off in training and on (top-8) at test; switch with
# --cfg-options model.neck.topk=0.
_base_ = './retinanet_r50_fpn_1x_coco.py'
model = dict(
    neck=dict(
        _delete_=True,
        type='PSTFPN',
        in_channels=[256, 512, 1024, 2048],
        start_level=1,
        out_channels=256,
        add_extra_convs='on_input',
        num_outs=5,
        preset='n',
        topk=8))
