# Copyright (c) pst-mm contributors. All rights reserved.
import copy
import math
import random
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import CopyPaste
from mmdet.registry import TRANSFORMS

__all__ = [
    'CachedCopyPaste', 'YOLOHSVRandomAug', 'YOLOKeepRatioResize',
    'YOLOLetterBox'
]


@TRANSFORMS.register_module()
class CachedCopyPaste(CopyPaste):
    """mmdet's ``CopyPaste`` drawing its source image from a cache.

    mmdet's ``CopyPaste`` needs ``MultiImageMixDataset`` to supply a second
    image, and that wrapper's pipeline cannot be swapped by
    ``PipelineSwitchHook``. Like ``CachedMosaic``/``CachedMixUp``, this keeps
    the last ``max_cached_images`` results and pastes objects from one of
    them, so it works in a plain dataset pipeline. Without instance masks the
    boxes are used as masks (``paste_by_box=True``), and the generated masks
    are dropped again afterwards.

    Args:
        prob (float): Probability of pasting. Defaults to 1.0.
        max_cached_images (int): Cache size. Defaults to 20.
        random_pop (bool): Evict a random entry (else the oldest) when the
            cache is full. Defaults to True.
        **kwargs: ``CopyPaste`` arguments (``max_num_pasted``,
            ``bbox_occluded_thr``, ``mask_occluded_thr``, ``selected``,
            ``paste_by_box`` (default True here)).
    """

    def __init__(self,
                 prob: float = 1.0,
                 max_cached_images: int = 20,
                 random_pop: bool = True,
                 **kwargs) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if max_cached_images < 2:
            raise ValueError(
                f'max_cached_images must be >= 2, got {max_cached_images}')
        kwargs.setdefault('paste_by_box', True)
        super().__init__(**kwargs)
        self.prob = prob
        self.max_cached_images = max_cached_images
        self.random_pop = random_pop
        self.results_cache = []

    def transform(self, results: dict) -> dict:
        self.results_cache.append(copy.deepcopy(results))
        if len(self.results_cache) > self.max_cached_images:
            index = random.randint(0, len(self.results_cache) -
                                   1) if self.random_pop else 0
            self.results_cache.pop(index)
        if len(self.results_cache) <= 1 or random.uniform(0, 1) > self.prob:
            return results
        source = copy.deepcopy(random.choice(self.results_cache[:-1]))
        if source['img'].shape[:2] != results['img'].shape[:2]:
            return results  # only images of one size can be composed
        had_masks = results.get('gt_masks') is not None
        if source.get('gt_masks') is None:
            # mmdet only derives masks from boxes for ``selected=True``.
            source['gt_masks'] = self.get_gt_masks(source)
        dtype = results['img'].dtype
        results['mix_results'] = [source]
        results = super().transform(results)
        results.pop('mix_results', None)
        results['img'] = results['img'].astype(dtype)
        if not had_masks:
            results.pop('gt_masks', None)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'max_cached_images={self.max_cached_images}, '
                f'max_num_pasted={self.max_num_pasted}, '
                f'paste_by_box={self.paste_by_box})')


@TRANSFORMS.register_module()
class YOLOHSVRandomAug(BaseTransform):
    """Random HSV jitter with multiplicative gains, the YOLOv5-v11 recipe.

    One gain per channel is drawn uniformly from ``[1 - g, 1 + g]`` for the
    gains ``(hue, saturation, value)``; the image is converted to HSV
    (OpenCV's 8-bit ranges: hue 0-179, saturation and value 0-255), hue is
    multiplied and wrapped modulo 180, saturation and value are multiplied
    and clipped to 0-255. mmdet's ``YOLOXHSVRandomAug`` instead *adds*
    random deltas, which is a different distribution (a dark pixel stays
    dark under a value gain, not under an offset).

    Required keys: ``img`` (uint8 BGR). Modified keys: ``img``.

    Args:
        hue_gain (float): Hue gain ``h``. Defaults to 0.015.
        saturation_gain (float): Saturation gain ``s``. Defaults to 0.7.
        value_gain (float): Value gain ``v``. Defaults to 0.4.
        prob (float): Probability of applying the jitter. Defaults to 1.0.

    Example:
        >>> import numpy as np
        >>> t = YOLOHSVRandomAug(0.0, 0.0, 0.0)
        >>> img = np.random.randint(0, 256, (4, 4, 3), dtype=np.uint8)
        >>> out = t(dict(img=img.copy()))['img']
        >>> int(np.abs(out.astype(int) - img).max()) <= 2  # HSV round trip
        True
    """

    def __init__(self,
                 hue_gain: float = 0.015,
                 saturation_gain: float = 0.7,
                 value_gain: float = 0.4,
                 prob: float = 1.0) -> None:
        for name, val in (('hue_gain', hue_gain),
                          ('saturation_gain', saturation_gain),
                          ('value_gain', value_gain)):
            if not 0 <= val <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {val}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.gains = np.array([hue_gain, saturation_gain, value_gain])
        self.prob = prob

    def _draw_gains(self) -> np.ndarray:
        return 1 + np.random.uniform(-1, 1, 3) * self.gains

    def transform(self, results: dict) -> Optional[dict]:
        if not self.gains.any() or np.random.rand() > self.prob:
            return results
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'YOLOHSVRandomAug needs a uint8 BGR image '
                             f'(H, W, 3), got {img.dtype} {img.shape}')
        gain_h, gain_s, gain_v = self._draw_gains()
        x = np.arange(256, dtype=np.float64)
        lut_h = ((x * gain_h) % 180).astype(np.uint8)
        lut_s = np.clip(x * gain_s, 0, 255).astype(np.uint8)
        lut_v = np.clip(x * gain_v, 0, 255).astype(np.uint8)
        h, s, v = cv2.split(cv2.cvtColor(img, cv2.COLOR_BGR2HSV))
        hsv = cv2.merge((cv2.LUT(h, lut_h), cv2.LUT(s, lut_s),
                         cv2.LUT(v, lut_v)))
        results['img'] = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        return results

    def __repr__(self) -> str:
        h, s, v = self.gains.tolist()
        return (f'{self.__class__.__name__}(hue_gain={h}, '
                f'saturation_gain={s}, value_gain={v}, prob={self.prob})')


def _size_hw(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """An int or a (w, h) pair (mmdet's order) -> (h, w) of positive ints."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                and v > 0 for v in size)):
        raise ValueError(f'{name} must be a positive int or a (w, h) pair of '
                         f'them, got {size!r}')
    return int(size[1]), int(size[0])


@TRANSFORMS.register_module()
class YOLOKeepRatioResize(BaseTransform):
    """Keep-ratio resize that rounds the new size up, as YOLOv5-v11 load
    their images for rectangular inference.

    With ``scale`` (W, H), ``r = min(W / w, H / h)`` and the new size is
    ``(min(ceil(w * r), W), min(ceil(h * r), H))``, bilinear (OpenCV
    ``INTER_LINEAR``); the image is left untouched when ``r == 1``. For a
    square scale this is Ultralytics' ``BaseDataset.load_image`` in rect
    mode (long side to ``imgsz``). mmdet's ``Resize(keep_ratio=True)``
    rounds to the nearest pixel instead, so a 333x500 image becomes 426x640
    there and 427x640 here, and the pixels differ.

    Required keys: ``img``. Modified keys: ``img``, ``img_shape``,
    ``gt_bboxes`` (if present). Added keys: ``scale``, ``scale_factor``
    ((w, h) ratios of the new to the old size), ``keep_ratio``.

    Args:
        scale (int | tuple[int, int]): Target size, an int or (w, h).
            Defaults to 640.

    Example:
        >>> import numpy as np
        >>> out = YOLOKeepRatioResize(640)(
        ...     dict(img=np.zeros((333, 500, 3), np.uint8)))
        >>> out['img_shape'], out['scale_factor'][1] == 427 / 333
        ((427, 640), True)
    """

    def __init__(self, scale: Union[int, Tuple[int, int]] = 640) -> None:
        self.scale_hw = _size_hw(scale, 'YOLOKeepRatioResize scale')

    def transform(self, results: dict) -> dict:
        img = results['img']
        h0, w0 = img.shape[:2]
        max_h, max_w = self.scale_hw
        r = min(max_w / w0, max_h / h0)
        if r != 1:
            w, h = min(math.ceil(w0 * r), max_w), min(math.ceil(h0 * r), max_h)
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
        h, w = img.shape[:2]
        scale_factor = (w / w0, h / h0)
        results['img'] = img
        results['img_shape'] = (h, w)
        results['scale'] = (w, h)
        results['scale_factor'] = scale_factor
        results['keep_ratio'] = True
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].rescale_(scale_factor)
        return results

    def __repr__(self) -> str:
        h, w = self.scale_hw
        return f'{self.__class__.__name__}(scale=({w}, {h}))'


@TRANSFORMS.register_module()
class YOLOLetterBox(BaseTransform):
    """Centred letterbox of YOLOv5-v11 testing: fit, then pad to a shape.

    The target shape is the image's ``batch_shape`` (h, w) when the dataset
    gives one (:class:`YOLOCocoDataset` with ``rect_batch``), else ``size``.
    The image is resized by ``r = min(H / h, W / w)`` (never above 1 with
    ``scaleup=False``) to ``round(w * r), round(h * r)`` (bilinear) and
    padded with ``pad_val``: with ``dh, dw`` half the missing rows /
    columns, top / left get ``round(d - 0.1)`` and bottom / right
    ``round(d + 0.1)`` (Python's ``round``), so an odd remainder goes to
    the bottom / right. This is Ultralytics' ``LetterBox(center=True)``
    pixel for pixel.

    Required keys: ``img``; ``batch_shape`` (optional). Modified keys:
    ``img``, ``img_shape``, ``scale_factor`` (multiplied by the resize
    ratio), ``gt_bboxes`` (if present: rescaled and shifted). Added keys:
    ``pad_shape``, ``pad_param`` (np.float32 array top, bottom, left,
    right, the convention of mmyolo; :class:`YOLOv11Head` reads it to map
    the boxes back as Ultralytics does).

    Args:
        size (int | tuple[int, int], optional): Output (w, h), or an int for
            a square, used when the results have no ``batch_shape``. None
            requires ``batch_shape``. Defaults to None.
        scaleup (bool): Allow ``r > 1``. Defaults to False.
        pad_val (int): Border value of every channel. Defaults to 114.

    Example:
        >>> import numpy as np
        >>> out = YOLOLetterBox()(dict(img=np.zeros((427, 640, 3), np.uint8),
        ...                            batch_shape=(448, 672)))
        >>> out['img_shape'], out['pad_param'].tolist()
        ((448, 672), [10.0, 11.0, 16.0, 16.0])
    """

    def __init__(self,
                 size: Optional[Union[int, Tuple[int, int]]] = None,
                 scaleup: bool = False,
                 pad_val: int = 114) -> None:
        self.size_hw = None if size is None else _size_hw(
            size, 'YOLOLetterBox size')
        if not isinstance(pad_val, (int, np.integer)) or isinstance(
                pad_val, bool) or not 0 <= pad_val <= 255:
            raise ValueError(f'YOLOLetterBox pad_val must be an int in '
                             f'[0, 255], got {pad_val!r}')
        self.scaleup = scaleup
        self.pad_val = int(pad_val)

    def transform(self, results: dict) -> dict:
        if results.get('batch_shape') is not None:
            new_h, new_w = (int(v) for v in results['batch_shape'])
        elif self.size_hw is not None:
            new_h, new_w = self.size_hw
        else:
            raise ValueError('YOLOLetterBox without size needs a '
                             "'batch_shape' in the results (YOLOCocoDataset "
                             'with rect_batch)')
        img = results['img']
        h, w = img.shape[:2]
        r = min(new_h / h, new_w / w)
        if not self.scaleup:
            r = min(r, 1.0)
        unpad_w, unpad_h = int(round(w * r)), int(round(h * r))
        if (unpad_w, unpad_h) != (w, h):
            img = cv2.resize(
                img, (unpad_w, unpad_h), interpolation=cv2.INTER_LINEAR)
            ratio = (unpad_w / w, unpad_h / h)
            old = results.get('scale_factor', (1.0, 1.0))
            results['scale_factor'] = (old[0] * ratio[0], old[1] * ratio[1])
            if results.get('gt_bboxes') is not None:
                results['gt_bboxes'].rescale_(ratio)
        dw, dh = (new_w - unpad_w) / 2, (new_h - unpad_h) / 2
        top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
        left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
        img = cv2.copyMakeBorder(
            img, top, bottom, left, right, cv2.BORDER_CONSTANT,
            value=(self.pad_val, ) * 3)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['pad_shape'] = img.shape[:2]
        results['pad_param'] = np.array([top, bottom, left, right],
                                        dtype=np.float32)
        results.setdefault('scale_factor', (1.0, 1.0))
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'].translate_([left, top])
        return results

    def __repr__(self) -> str:
        size = None if self.size_hw is None else self.size_hw[::-1]
        return (f'{self.__class__.__name__}(size={size}, '
                f'scaleup={self.scaleup}, pad_val={self.pad_val})')
