# The short fine-tuning recipe of the held-out study (issue "PSTFPN learns
# as reliably as FPN on data it was not tuned on"): mmdet's RetinaNet R-18
# as configs/pst_det/ builds it (backbone norm_eval and frozen stem left as
# they are; no pretrained weights, as nothing is downloaded here), neck width
# 64, 2 stacked head convs, 300 iterations of batch 4, SGD lr 0.01 after a
# 20-iteration linear warm-up, gradient clip 35. All of it is ours; the
# values are the ones a new user tried.
#
# Built on the R-18 pst-demo config (the same model but for the classes
# and mmdet's frozen stem and BN statistics, the same pipelines at 160 px).
# The data set is any COCO-format set: tools/analysis_tools/seed_study.py
# --data NAME ROOT sets the root and classes; tools/misc/make_demo_data.py
# faces|shapes ROOT builds the two held-out sets. Default: the faces set.
_base_ = './retinanet_r18_fpn_1xb8-24e_pst-demo.py'

demo_data = _base_.demo_sets.heldout
data_root, classes = demo_data.data_root, demo_data.classes
img_scale = (160, 160)
max_iters = 300

model = dict(
    backbone=dict(frozen_stages=1, norm_eval=True),  # mmdet's
    bbox_head=dict(num_classes=len(classes)))

train_pipeline, test_pipeline = ([
    dict(t, scale=img_scale) if t.type == 'Resize' else t for t in pipeline
] for pipeline in (_base_.train_pipeline, _base_.test_pipeline))
train_dataloader = dict(
    batch_size=4,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(demo_data.train, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(demo_data.val, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = demo_data.val_evaluator
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=20)
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=4)
