# R-101-PST-S with the paper's recipe (see the R-50 file for what is the
# paper's and what is ours): the S size doubles C' (embed_channels), and the S column of
# appendix Table 5 raises MixUp to 0.05 and CopyPaste to 0.15.
_base_ = './rtmdet_r50_pst-n_8xb32-600e_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')),
    neck=dict(embed_channels=(128, 256)))
train_pipeline = {{_base_.train_pipelines.s}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
