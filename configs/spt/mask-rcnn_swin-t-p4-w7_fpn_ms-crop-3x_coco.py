# Swin-T Mask R-CNN 3x on COCO: the dense baseline of SPT-T (paper Table 1,
# "Swin-T": 46.0 box AP). mmdet's config (its published 46.0 box / 41.6 mask
# AP match the paper's row) plus the select-ratio metric; the SPT twin
# differs only in the backbone and in the detector type that adds the
# selection loss.
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)

# SelectRatioMetric reports the SPT twin's eval select ratios (nothing for
# Swin); it is here so that the twins differ only in the backbone.
val_evaluator = [dict(_base_.val_evaluator), dict(type='SelectRatioMetric')]
test_evaluator = val_evaluator
