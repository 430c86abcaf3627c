# Demo-size YOLOv11-PST-N (the Table 2 model, unchanged: 2.6 M parameters,
# 4 classes) on the pst-demo detection set (128x128 photographs; built by
# tools/misc/make_demo_data.py, used by `bash tools/run_demo.sh yolo`).
# Trains from scratch on 2 CPU cores in minutes. Ours, for the small set and
# short schedule: keep-ratio resize to 128 + flip + the recipe's HSV gains
# (no mosaic, mixup or copy-paste), AdamW with a cosine schedule instead of
# the 600-epoch SGD recipe, no EMA, FP32. Set PST_DEMO_DET_ROOT to use a
# set elsewhere.
_base_ = [
    '../yolo_pst/yolo11-pst-n_8xb16-600e_coco.py',
    '../_base_/datasets/pst-demo_detection.py'
]

demo_data = _base_.demo_sets.pst_demo
data_root, classes = demo_data.data_root, demo_data.classes
img_scale = (128, 128)
max_epochs = 30

# top-8 fine attention at test, as the demo has always reported it (the
# paper configs evaluate coarse-only, as the released code)
model = dict(
    neck=dict(pst_cfg=dict(topk=8)), bbox_head=dict(num_classes=len(classes)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='YOLOHSVRandomAug',
        hue_gain=0.015,
        saturation_gain=0.7,
        value_gain=0.4),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='Pad', size_divisor=32, pad_val=dict(img=(114, 114, 114))),
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
    pin_memory=False,
    dataset=dict(
        demo_data.train,
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        demo_data.val,
        rect_batch=None,  # the demo keeps its own keep-ratio test pipeline
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = demo_data.val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(
    max_epochs=max_epochs, val_interval=max_epochs, dynamic_intervals=None)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0),
    clip_grad=dict(max_norm=10.0))
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
custom_hooks = []
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=5, max_keep_ckpts=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
