# Copyright (c) pst-mm contributors. All rights reserved.
import math
from typing import List, Optional

import numpy as np
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

_RECT_KEYS = ('batch_size', 'img_size', 'size_divisor', 'pad')


def rect_batch_shapes(hw: np.ndarray,
                      batch_size: int = 16,
                      img_size: int = 640,
                      size_divisor: int = 32,
                      pad: float = 0.5) -> np.ndarray:
    """Network input shape of each batch of aspect-ratio-sorted images.

    The images are split into consecutive batches of ``batch_size``; a batch
    whose images are all landscape (largest h / w below 1) gets the shape
    ``(max h/w, 1)``, one that is all portrait (smallest h / w above 1)
    gets ``(1, w/h of the narrowest)``, a mixed batch ``(1, 1)``; the shape
    is then ``ceil(shape * img_size / size_divisor + pad) * size_divisor``.
    This is the rectangular-inference rule of YOLOv5 to YOLOv11 (Ultralytics
    ``BaseDataset.set_rectangle``), with the same float arithmetic.

    Args:
        hw (np.ndarray): (N, 2) original (height, width), already sorted by
            height / width.
        batch_size (int): Images per batch. Defaults to 16.
        img_size (int): Long side of the resized images. Defaults to 640.
        size_divisor (int): The network stride. Defaults to 32.
        pad (float): Extra padding in strides. Defaults to 0.5.

    Returns:
        np.ndarray: (N, 2) int64 (height, width) per image.
    """
    hw = np.asarray(hw)
    ar = hw[:, 0] / hw[:, 1]
    batch_idx = np.floor(np.arange(len(ar)) / batch_size).astype(int)
    shapes = [[1, 1]] * (int(batch_idx[-1]) + 1 if len(ar) else 0)
    for i in range(len(shapes)):
        ari = ar[batch_idx == i]
        lo, hi = ari.min(), ari.max()
        if hi < 1:
            shapes[i] = [hi, 1]
        elif lo > 1:
            shapes[i] = [1, 1 / lo]
    batch_shapes = np.ceil(
        np.array(shapes) * img_size / size_divisor + pad).astype(int) * \
        size_divisor
    return batch_shapes.reshape(-1, 2)[batch_idx]


@DATASETS.register_module()
class YOLOCocoDataset(CocoDataset):
    """COCO dataset with the rectangular test batches of YOLOv5 to YOLOv11.

    With ``rect_batch`` set, the test images are ordered by aspect ratio
    (height / width of the annotation file's sizes) and every run of
    ``batch_size`` consecutive images is given one network input shape,
    ``batch_shape`` = (h, w) in each data info, read by
    :class:`YOLOLetterBox`. This is how ``yolo val`` evaluates (Ultralytics
    ``BaseDataset.set_rectangle``, with ``pad=0.5`` and the model stride):
    less padding than a 640x640 square, and the published COCO numbers are
    measured so. The images are first put in path order and then sorted
    with NumPy's default ``argsort``, as Ultralytics does, so that images of
    equal aspect ratio fall into the same batches as there.

    The shapes only match the batches the model sees when the dataloader
    takes the images in order with the same batch size (``DefaultSampler``
    with ``shuffle=False`` on one process). With N processes mmengine's
    sampler deals image ``i`` to rank ``i % N``, so one batch may hold
    images of several shapes; the data preprocessor then pads them to a
    common size at the bottom-right, which the predictions survive, but the
    numbers are no longer exactly Ultralytics'.

    Args:
        rect_batch (dict, optional): ``batch_size`` (int, 16), ``img_size``
            (int, 640: the long side the images are resized to),
            ``size_divisor`` (int, 32: the network stride) and ``pad``
            (float, 0.5); missing keys take those defaults. None keeps
            :class:`CocoDataset`'s order and adds no ``batch_shape``.
            Needs ``test_mode=True``. Defaults to None.
        **kwargs: :class:`CocoDataset` arguments. With ``rect_batch``,
            ``indices`` selects from the sorted list.

    Example:
        >>> dataset = dict(
        ...     type='YOLOCocoDataset',
        ...     rect_batch=dict(batch_size=16, img_size=640),
        ...     test_mode=True,
        ...     ann_file='annotations/instances_val2017.json',
        ...     data_prefix=dict(img='val2017/'),
        ...     pipeline=[...])
    """

    def __init__(self,
                 *args,
                 rect_batch: Optional[dict] = None,
                 **kwargs) -> None:
        self.rect_batch = self._check_rect_batch(rect_batch,
                                                 kwargs.get('test_mode'))
        super().__init__(*args, **kwargs)

    @staticmethod
    def _check_rect_batch(rect_batch: Optional[dict],
                          test_mode: Optional[bool]) -> Optional[dict]:
        if rect_batch is None:
            return None
        if not isinstance(rect_batch, dict):
            raise ValueError(f'rect_batch must be a dict or None, got '
                             f'{type(rect_batch).__name__}')
        unknown = set(rect_batch) - set(_RECT_KEYS)
        if unknown:
            raise ValueError(f'rect_batch has unknown keys {sorted(unknown)};'
                             f' allowed: {list(_RECT_KEYS)}')
        cfg = dict(batch_size=16, img_size=640, size_divisor=32, pad=0.5)
        cfg.update(rect_batch)
        for key in ('batch_size', 'img_size', 'size_divisor'):
            val = cfg[key]
            if isinstance(val, bool) or not isinstance(
                    val, (int, np.integer)) or val < 1:
                raise ValueError(
                    f'rect_batch.{key} must be a positive int, got {val!r}')
        if isinstance(cfg['pad'], bool) or not isinstance(
                cfg['pad'], (int, float)) or not math.isfinite(
                    cfg['pad']) or cfg['pad'] < 0:
            raise ValueError(
                f'rect_batch.pad must be a float >= 0, got {cfg["pad"]!r}')
        if not test_mode:
            raise ValueError('rect_batch orders the images for testing and '
                             'needs test_mode=True')
        return cfg

    def filter_data(self) -> List[dict]:
        """CocoDataset's filtering, then the aspect-ratio order and each
        image's ``batch_shape`` (h, w) when ``rect_batch`` is set."""
        data_list = super().filter_data()
        if self.rect_batch is None or not data_list:
            return data_list
        # Ultralytics lists its images by path, then argsorts h / w with
        # NumPy's default (unstable) sort: do both for the same ties
        data_list = sorted(data_list, key=lambda info: info['img_path'])
        hw = np.array([(info['height'], info['width'])
                       for info in data_list])
        order = (hw[:, 0] / hw[:, 1]).argsort()
        data_list = [data_list[i] for i in order]
        shapes = rect_batch_shapes(hw[order], **self.rect_batch)
        for info, (h, w) in zip(data_list, shapes.tolist()):
            info['batch_shape'] = (h, w)
        return data_list
