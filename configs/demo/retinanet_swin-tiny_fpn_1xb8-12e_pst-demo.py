# Demo-size RetinaNet with a tiny Swin backbone on the pst-demo detection
# set: the dense twin of the SPT demo (same widths, depths and window; only
# the backbone type and the selection loss differ). All values are ours,
# sized for 128x128 images on 2 CPU cores: window 4 (the stage-3 map of a
# 128x128 image is 8x8, a 7-window would be mostly padding), embed 32,
# depths 2-2-4-2, trained from scratch in the R-18 demo's recipe but for 12
# epochs (384 iterations): the SPT demo trains four of these detectors.
_base_ = './retinanet_r18_fpn_1xb8-24e_pst-demo.py'
max_epochs = 12
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        embed_dims=32,
        depths=(2, 2, 4, 2),
        num_heads=(1, 2, 4, 8),
        window_size=4,
        drop_path_rate=0.1,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256]))
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=_base_.demo_data.val_evaluator.ann_file,
        metric='bbox',
        format_only=False),
    dict(type='SelectRatioMetric')
]
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [  # the R-18 demo's, over 12 epochs
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs, T_max=max_epochs)
]
