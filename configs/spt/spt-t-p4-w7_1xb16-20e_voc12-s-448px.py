# SPT-T multi-label classification on PASCAL VOC 2012's small-object subset
# (paper Table 5 / Table 7 last row: 44.60 mAP at a 29.6 % mean select
# ratio). The Swin-T twin with the SPT-T backbone (mmdet's Swin with SPA in
# stages 3-4, the same ImageNet-1k Swin-T weights; extra blocks and gates
# from scratch) and the selection loss, whose labels come from the VOC boxes
# (VOCWithBoxes, carried through Resize/RandomFlip). Run with
# --cfg-options model.select_loss_weight=0 for Table 7's "SPA without
# L_select" row (44.49 mAP at 59.77 %).
_base_ = [
    './swin-t-p4-w7_1xb16-20e_voc12-s-448px.py', '../_base_/models/spt.py'
]
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth'  # noqa
model = dict(
    type='SPTImageClassifier',
    select_loss_weight=_base_.spt_models.t.select_loss_weight,
    backbone=dict(
        _base_.spt_models.t.backbone,
        _delete_=True,
        embed_dims=96,
        num_heads=[3, 6, 12, 24],
        window_size=7,
        drop_path_rate=0.2,
        out_indices=(3, ),
        convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
