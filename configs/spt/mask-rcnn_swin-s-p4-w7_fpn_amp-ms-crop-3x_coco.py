# Swin-S Mask R-CNN 3x on COCO: the dense baseline of SPT-S (paper Table 1,
# "Swin-S": 48.5 box AP). mmdet's config plus the select-ratio metric (AMP
# as mmdet publishes it; the launcher switches to fp32 on a CPU).
_base_ = 'mmdet::swin/mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)

# SelectRatioMetric reports the SPT twin's eval select ratios (nothing for
# Swin); it is here so that the twins differ only in the backbone.
val_evaluator = [dict(_base_.val_evaluator), dict(type='SelectRatioMetric')]
test_evaluator = val_evaluator
