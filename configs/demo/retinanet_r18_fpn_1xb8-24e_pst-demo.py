# Demo-size RetinaNet R-18 with FPN on the pst-demo detection set (real
# photographs shipped with scikit-image; tools/misc/make_demo_data.py builds
# it). Trains from scratch on 2 CPU cores in minutes. The PST twin changes
# only the neck. Set PST_DEMO_DET_ROOT to use a set elsewhere.
_base_ = [
    'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py',
    '../_base_/datasets/pst-demo_detection.py'
]
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)

demo_data = _base_.demo_sets.pst_demo
data_root, classes = demo_data.data_root, demo_data.classes
img_scale = (128, 128)
max_epochs = 24

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=64),
    bbox_head=dict(
        num_classes=len(classes),
        in_channels=64,
        feat_channels=64,
        stacked_convs=2))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(demo_data.train, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(demo_data.val, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = demo_data.val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='CosineAnnealingLR',
        eta_min=2e-5,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=4, max_keep_ckpts=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
