# R-101-PST-S with the paper's recipe (see the R-50 file for what is the
# paper's and what is ours): the S preset doubles C', and the S column of
# appendix Table 5 raises MixUp to 0.05 and CopyPaste to 0.15.
_base_ = './rtmdet_r50_pst-n_8xb32-600e_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')),
    neck=dict(preset='s'))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='CachedMosaic', img_scale=(640, 640), pad_val=114.0, prob=1.0),
    dict(
        type='RandomAffine',
        max_rotate_degree=0.0,
        max_shear_degree=0.0,
        max_translate_ratio=0.1,
        scaling_ratio_range=(0.5, 1.5),
        border=(-320, -320)),
    dict(type='CachedCopyPaste', prob=0.15, max_num_pasted=30),
    dict(
        type='CachedMixUp',
        img_scale=(640, 640),
        ratio_range=(1.0, 1.0),
        max_cached_images=20,
        pad_val=(114, 114, 114),
        prob=0.05),
    dict(type='YOLOXHSVRandomAug', hue_delta=3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
