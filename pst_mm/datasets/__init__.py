# Copyright (c) pst-mm contributors. All rights reserved.
from .demo_data import (CLS_SOURCES, DET_CLASSES, build_cls_demo,
                        build_det_demo, skimage_data_dir)
from .heldout_data import HELDOUT_CLASSES, build_det_heldout
from .transforms import (CachedCopyPaste, YOLOCopyPaste, YOLOHSVRandomAug,
                         YOLOKeepRatioResize, YOLOLetterBox,
                         YOLOLoadAnnotations, YOLOMixUp, YOLOMosaic,
                         YOLORandomPerspective, resample_polygons)
from .voc_boxes import VOCWithBoxes, object_ratio
from .yolo_coco import YOLOCocoDataset, rect_batch_shapes

__all__ = [
    'build_det_demo', 'build_cls_demo', 'build_det_heldout',
    'skimage_data_dir', 'DET_CLASSES', 'HELDOUT_CLASSES',
    'CLS_SOURCES', 'CachedCopyPaste', 'YOLOHSVRandomAug', 'VOCWithBoxes',
    'object_ratio', 'YOLOKeepRatioResize', 'YOLOLetterBox',
    'YOLOCocoDataset', 'rect_batch_shapes', 'YOLOMosaic', 'YOLOCopyPaste',
    'YOLORandomPerspective', 'YOLOMixUp', 'YOLOLoadAnnotations',
    'resample_polygons'
]
