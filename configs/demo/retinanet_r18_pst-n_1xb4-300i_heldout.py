# The held-out study's short recipe with the PST-DET-N neck: only the neck
# differs from the FPN twin (width 64, as there).
_base_ = './retinanet_r18_fpn_1xb4-300i_heldout.py'
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
