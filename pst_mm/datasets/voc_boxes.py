# Copyright (c) pst-mm contributors. All rights reserved.
"""PASCAL VOC multi-label classification that keeps the object boxes, for
SPT's selection loss (paper Tables 5 and 7), and the object-to-pixel ratio
that defines the small-object subsets (BDD-S, VOC with ratio < 25 %)."""
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import VOC
from mmpretrain.registry import DATASETS


def object_ratio(boxes: Sequence[Sequence[float]], width: int,
                 height: int) -> float:
    """Share of the image's pixels covered by the union of ``boxes``
    (x1, y1, x2, y2 in pixels; a pixel counts when its square overlaps a
    box). The SPT paper's "object-to-pixel ratio" (Sec. 4.1)."""
    if width <= 0 or height <= 0:
        raise ValueError(f'image size must be positive, got {width}x{height}')
    covered = np.zeros((height, width), dtype=bool)
    for x1, y1, x2, y2 in boxes:
        c0, c1 = int(np.floor(max(x1, 0))), int(np.ceil(min(x2, width)))
        r0, r1 = int(np.floor(max(y1, 0))), int(np.ceil(min(y2, height)))
        covered[r0:r1, c0:c1] = True
    return float(covered.mean())


@DATASETS.register_module()
class VOCWithBoxes(VOC):
    """mmpretrain's multi-label :class:`~mmpretrain.datasets.VOC` whose
    samples also carry the object boxes as ``gt_bboxes`` (``(n, 4)``
    float32 x1y1x2y2 in image pixels, difficult objects included: they are
    objects for token selection). mmcv's ``Resize`` and ``RandomFlip``
    transform ``gt_bboxes``; ``PackInputs(algorithm_keys=('gt_bboxes',))``
    hands them to :class:`~pst_mm.models.classifiers.SPTImageClassifier`,
    which builds the selection labels from them.

    Args:
        max_object_ratio (float, optional): Keep only images whose boxes
            cover less than this share of the pixels (the paper's VOC
            subset: 0.25). Defaults to None (all images).
        **kwargs: :class:`~mmpretrain.datasets.VOC` arguments.
    """

    def __init__(self, *args, max_object_ratio: Optional[float] = None,
                 **kwargs) -> None:
        if max_object_ratio is not None and (
                isinstance(max_object_ratio, bool)
                or not 0 < max_object_ratio <= 1):
            raise ValueError('max_object_ratio must be in (0, 1], got '
                             f'{max_object_ratio!r}')
        self.max_object_ratio = max_object_ratio
        super().__init__(*args, **kwargs)

    def _boxes_from_xml(self, img_path: str
                        ) -> Tuple[np.ndarray, Tuple[int, int]]:
        """Boxes (0-based x1y1x2y2, as mmdet reads VOC) and (w, h)."""
        name = img_path.replace('\\', '/').rsplit('/', 1)[-1]
        stem = name.rsplit('.', 1)[0]
        xml_path = self.backend.join_path(self.ann_prefix, f'{stem}.xml')
        root = ET.fromstring(self.backend.get(xml_path))
        size = root.find('size')
        wh = (int(size.find('width').text), int(size.find('height').text))
        boxes: List[List[float]] = []
        for obj in root.findall('object'):
            if obj.find('name').text not in self.CLASSES:
                continue
            bb = obj.find('bndbox')
            x1, y1, x2, y2 = (float(bb.find(k).text)
                              for k in ('xmin', 'ymin', 'xmax', 'ymax'))
            boxes.append([x1 - 1, y1 - 1, x2, y2])
        return np.array(boxes, dtype=np.float32).reshape(-1, 4), wh

    def load_data_list(self) -> List[dict]:
        data_list = []
        for info in super().load_data_list():
            if self.ann_prefix is None:
                data_list.append(info)
                continue
            boxes, (w, h) = self._boxes_from_xml(info['img_path'])
            if self.max_object_ratio is not None and object_ratio(
                    boxes, w, h) >= self.max_object_ratio:
                continue
            info['gt_bboxes'] = boxes
            data_list.append(info)
        return data_list


__all__ = ['VOCWithBoxes', 'object_ratio']
