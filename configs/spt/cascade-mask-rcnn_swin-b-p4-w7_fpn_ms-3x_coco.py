# Swin-B Cascade Mask R-CNN 3x on COCO: the dense baseline of SPT-B (paper
# Table 1, "Swin-B*": 51.9 box AP, "Cascade Mask RCNN for all base
# models"). mmdet 3.3 ships no Cascade Swin config: ours is mmdet's
# Cascade Mask R-CNN ms-3x recipe with Swin-B (Swin paper: embed 128,
# depths 2-2-18-2, heads 4-8-16-32, drop path 0.3, ImageNet-1k weights) and
# mmdet's Swin optimiser (AdamW lr 1e-4, wd 0.05, no decay on norms and
# position tables).
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_ms-3x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        embed_dims=128,
        depths=[2, 2, 18, 2],
        num_heads=[4, 8, 16, 32],
        window_size=7,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.3,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        with_cp=False,
        convert_weights=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }),
    optimizer=dict(
        _delete_=True,
        type='AdamW',
        lr=0.0001,
        betas=(0.9, 0.999),
        weight_decay=0.05))

# SelectRatioMetric reports the SPT twin's eval select ratios (nothing for
# Swin); it is here so that the twins differ only in the backbone.
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file='data/coco/annotations/instances_val2017.json',
        metric=['bbox', 'segm'],
        format_only=False,
        backend_args=None),
    dict(type='SelectRatioMetric')
]
test_evaluator = val_evaluator
