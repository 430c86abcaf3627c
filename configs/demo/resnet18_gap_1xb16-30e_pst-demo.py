# Demo-size ResNet-18 classifier (global average pooling) on the pst-demo
# classification set: crops of six real photographs shipped with
# scikit-image (tools/misc/make_demo_data.py cls). Trains from scratch on 2
# CPU cores in minutes; the PST twin changes only the neck. Set
# PST_DEMO_CLS_ROOT to use a set elsewhere.
_base_ = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)

data_root = '{{$PST_DEMO_CLS_ROOT:data/pst_demo_cls/}}'
num_classes = 6
max_epochs = 30

model = dict(
    backbone=dict(out_indices=(2, 3)),
    head=dict(num_classes=num_classes, topk=(1, )))
data_preprocessor = dict(num_classes=num_classes)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=96, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    batch_size=32,
    dataset=dict(
        train_dataloader['dataset'], data_prefix='val',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=5, max_keep_ckpts=2))
auto_scale_lr = dict(base_batch_size=16)
