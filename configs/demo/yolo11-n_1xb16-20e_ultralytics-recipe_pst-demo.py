# The reference recipe (the authors' train.py on Ultralytics 8.3.105, as in
# configs/_base_/yolo-pst_paper-recipe_coco.py) shrunk to the demo set, for
# a side-by-side run with Ultralytics' own trainer on the same images and
# schedule (`python tests/ultralytics_reference.py compare`; command and
# table: configs/demo/README.md, "The authors' YOLO recipe against
# Ultralytics' own trainer"). Plain YOLO11-N, so that
# Ultralytics builds the same model without the authors' code.
#
# Changed from the base for the short CPU run (both frameworks get the
# same values): 128x128 images, 20 epochs of batch 16, mosaic closed for
# the last 2 epochs, nominal batch 16 (no gradient accumulation; at the
# reference's 64 the run would make only a quarter of the optimizer
# steps), fp32, validation at the end only. Everything else (SGD, warm-up,
# EMA, linear decay, mosaic / perspective / copy-paste / HSV / flip at the
# N values, the yolo val protocol) is the base's.
_base_ = [
    '../yolo_pst/yolo11-n_8xb16-600e_coco.py',
    '../_base_/datasets/pst-demo_detection.py'
]

demo_data = _base_.demo_sets.pst_demo
data_root, classes = demo_data.data_root, demo_data.classes
img_size = 128
max_epochs = 20
close_mosaic_epochs = 2
batch_size = 16

model = dict(bbox_head=dict(num_classes=len(classes)))

train_load = [
    dict(type='LoadImageFromFile'),
    dict(type='YOLOLoadAnnotations'),
    dict(type='YOLOKeepRatioResize', scale=img_size),
]
tail = [
    dict(
        type='YOLOHSVRandomAug',
        hue_gain=0.015,
        saturation_gain=0.7,
        value_gain=0.4,
        hue_shift=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
perspective = dict(
    type='YOLORandomPerspective',
    img_scale=img_size,
    max_translate_ratio=0.1,
    scaling_ratio_range=(0.5, 1.5))
train_pipeline = train_load + [
    dict(
        type='YOLOMixUp',
        prob=0.0,
        pre_transform=[
            dict(
                type='YOLOMosaic',
                img_scale=img_size,
                prob=1.0,
                max_cached_images=8 * batch_size,
                pad_val=114),
            dict(type='YOLOCopyPaste', prob=0.1), perspective
        ]),
] + tail
stage2_pipeline = train_load + [
    dict(type='YOLOLetterBox', size=img_size, scaleup=True, pad_val=114),
    perspective,
] + tail
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='YOLOKeepRatioResize', scale=img_size),
    dict(type='YOLOLetterBox', size=img_size, scaleup=False, pad_val=114),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'pad_param'))
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    dataset=dict(
        demo_data.train,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(
        demo_data.val,
        rect_batch=dict(batch_size=16, img_size=img_size),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = demo_data.val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(
    max_epochs=max_epochs, val_interval=max_epochs, dynamic_intervals=None)
optim_wrapper = dict(
    type='YOLOOptimWrapper', batch_size_per_gpu=batch_size, nbs=16)
custom_hooks = [
    {{_base_.schedule_hook}},
    {{_base_.ema_hook}},
    dict(
        type='PipelineSwitchHook',
        switch_epoch=max_epochs - close_mosaic_epochs,
        switch_pipeline=stage2_pipeline)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1, save_best=None))
randomness = dict(seed=0)
