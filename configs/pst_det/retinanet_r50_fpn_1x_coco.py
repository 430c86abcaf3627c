# FPN baseline row: mmdet's RetinaNet R-50 1x recipe (1333x800) unchanged.
# The PST-DET and attention-FPN rows inherit this file and replace only
# `model.neck`. custom_imports makes tools/test.py load its checkpoints
# safely (pst_mm allowlists mmengine's checkpoint types).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)
