# The short fine-tuning recipe of the held-out study (issue "PSTFPN learns
# as reliably as FPN on data it was not tuned on"): mmdet's RetinaNet R-18
# as configs/pst_det/ builds it (backbone norm_eval and frozen stem left as
# they are; no pretrained weights, as nothing is downloaded here), neck width
# 64, 2 stacked head convs, 300 iterations of batch 4, SGD lr 0.01 after a
# 20-iteration linear warm-up, gradient clip 35. All of it is ours; the
# values are the ones a new user tried.
#
# The data set is any COCO-format set: tools/analysis_tools/seed_study.py
# --data NAME ROOT sets the root and classes; tools/misc/make_demo_data.py
# faces|shapes ROOT builds the two held-out sets. Default: the faces set.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)

data_root = '{{$PST_HELDOUT_ROOT:data/heldout_faces/}}'
classes = ('face', 'motorcycle', 'clock')
img_scale = (160, 160)
max_iters = 300

model = dict(
    backbone=dict(init_cfg=None),
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
    batch_size=4,
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=20)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=4)
