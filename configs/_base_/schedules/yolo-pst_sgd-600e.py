# The PST paper's YOLO training schedule as the authors ran it (their
# train.py on Ultralytics 8.3.105, Ultralytics defaults where it is
# silent), shared by ../yolo-pst_paper-recipe_coco.py and the PST-DET
# RTMDet rows (configs/pst_det/rtmdet_*):
# 600 epochs; SGD (Nesterov) lr0 0.01 with the linear factor
# (1 - e/600)(1 - 0.01) + 0.01 stepped per epoch from epoch 0, momentum
# 0.937, weight decay 5e-4 x batch x accumulate / 64 on conv/linear weights
# only (groups: biases, decayed weights, norm weights;
# YOLOParamGroupsConstructor), nominal batch 64 with gradient accumulation
# below it (YOLOOptimWrapper: the loss is not divided); warm-up over
# max(3 epochs, 100 iterations) with the bias lr from 0.1 (paper: 0.0) and
# the others from 0 towards lr0 x factor, momentum 0.8 -> 0.937 and
# accumulation 1 -> 64 / batch interpolated per iteration
# (YOLOParamSchedulerHook); gradient norm clipped at 10; AMP; EMA decay
# 0.9999 (1 - exp(-updates / 2000)) after every optimizer step, buffers
# included (YOLOEMAHook). Ours: validation every 10 epochs and every epoch
# in the last close_mosaic_epochs (Ultralytics validates every epoch).
#
# mmengine forbids a key in two bases of one file, and mmdet's RTMDet
# config (which the RTMDet rows inherit) defines every schedule key, so the
# names here are the recipe's own (yolo_*, *_hook); a recipe assigns them:
#     train_cfg = {{_base_.yolo_train_cfg}}
#     optim_wrapper = {{_base_.yolo_optim_wrapper}}
#     param_scheduler = None  # YOLOParamSchedulerHook sets lr and momentum
#     custom_hooks = [schedule_hook, ema_hook, <its pipeline switch>]
close_mosaic_epochs = 10  # the last epochs: no mosaic, validate each epoch
warmup_epochs = 3
warmup_bias_lr = 0.1  # the script's (Ultralytics default); paper: 0.0

yolo_train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=600,
    val_interval=10,
    dynamic_intervals=[(600 - close_mosaic_epochs, 1)])
yolo_optim_wrapper = dict(
    type='YOLOAmpOptimWrapper',
    constructor='YOLOParamGroupsConstructor',
    batch_size_per_gpu=16,  # 8 GPUs: the authors' total batch 128
    nbs=64,
    # 5e-4 is scaled by total batch x accumulate / 64 (1e-3 at 8 x 16)
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.937, nesterov=True,
        weight_decay=5e-4),
    clip_grad=dict(max_norm=10.0))
schedule_hook = dict(
    type='YOLOParamSchedulerHook',
    lrf=0.01,
    warmup_epochs=warmup_epochs,
    warmup_momentum=0.8,
    warmup_bias_lr=warmup_bias_lr)
ema_hook = dict(type='YOLOEMAHook', momentum=0.0001, gamma=2000, priority=49)
