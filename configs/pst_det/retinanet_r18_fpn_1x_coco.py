# FPN baseline row: mmdet's RetinaNet R-18 1x recipe (1333x800) unchanged.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'
custom_imports = dict(imports=['pst_mm'], allow_failed_imports=False)
