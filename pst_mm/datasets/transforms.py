# Copyright (c) pst-mm contributors. All rights reserved.
import copy
import math
import random
from typing import Callable, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import CopyPaste, LoadAnnotations
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks

__all__ = [
    'CachedCopyPaste', 'YOLOHSVRandomAug', 'YOLOKeepRatioResize',
    'YOLOLetterBox', 'YOLOMosaic', 'YOLOCopyPaste', 'YOLORandomPerspective',
    'YOLOMixUp', 'YOLOLoadAnnotations', 'resample_polygons'
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

    The hue step changed between Ultralytics releases: YOLOv5 and the early
    YOLOv8 releases multiply the hue by its gain (the default here); newer
    ones, 8.3.105 among them (``RandomHSV``), shift it by ``(gain - 1) *
    180`` instead, modulo 180 (``hue_shift=True``), so a red hue near 0
    moves as much as any other.

    Required keys: ``img`` (uint8 BGR). Modified keys: ``img``.

    Args:
        hue_gain (float): Hue gain ``h``. Defaults to 0.015.
        saturation_gain (float): Saturation gain ``s``. Defaults to 0.7.
        value_gain (float): Value gain ``v``. Defaults to 0.4.
        prob (float): Probability of applying the jitter. Defaults to 1.0.
        hue_shift (bool): Shift the hue instead of multiplying it.
            Defaults to False.

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
                 prob: float = 1.0,
                 hue_shift: bool = False) -> None:
        for name, val in (('hue_gain', hue_gain),
                          ('saturation_gain', saturation_gain),
                          ('value_gain', value_gain)):
            if not 0 <= val <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {val}')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.gains = np.array([hue_gain, saturation_gain, value_gain])
        self.prob = prob
        self.hue_shift = bool(hue_shift)

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
        if self.hue_shift:
            lut_h = ((x + (gain_h - 1) * 180) % 180).astype(np.uint8)
        else:
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
                f'saturation_gain={s}, value_gain={v}, prob={self.prob}, '
                f'hue_shift={self.hue_shift})')


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
    ``gt_bboxes``, ``gt_masks`` (if present). Added keys: ``scale``,
    ``scale_factor`` ((w, h) ratios of the new to the old size),
    ``keep_ratio``.

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
        if results.get('gt_masks') is not None:
            results['gt_masks'] = results['gt_masks'].resize((h, w))
        return results

    def __repr__(self) -> str:
        h, w = self.scale_hw
        return f'{self.__class__.__name__}(scale=({w}, {h}))'


def _pad_masks(masks, top: int, bottom: int, left: int, right: int):
    """Pad instance masks (polygon or bitmap) as the image is padded."""
    h, w = masks.height + top + bottom, masks.width + left + right
    if isinstance(masks, PolygonMasks):
        shifted = []
        for inst in masks.masks:
            parts = []
            for p in inst:
                p = np.array(p, dtype=np.float32)
                p[0::2] += left
                p[1::2] += top
                parts.append(p)
            shifted.append(parts)
        return PolygonMasks(shifted, h, w)
    if isinstance(masks, BitmapMasks):
        return BitmapMasks(
            np.pad(masks.masks, ((0, 0), (top, bottom), (left, right))), h, w)
    raise TypeError(f'cannot pad masks of type {type(masks).__name__}')


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
    ratio), ``gt_bboxes``, ``gt_masks`` (if present: rescaled and
    shifted). Added keys:
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
            if results.get('gt_masks') is not None:
                results['gt_masks'] = results['gt_masks'].resize(
                    (unpad_h, unpad_w))
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
        if results.get('gt_masks') is not None:
            results['gt_masks'] = _pad_masks(results['gt_masks'], top,
                                             bottom, left, right)
        return results

    def __repr__(self) -> str:
        size = None if self.size_hw is None else self.size_hw[::-1]
        return (f'{self.__class__.__name__}(size={size}, '
                f'scaleup={self.scaleup}, pad_val={self.pad_val})')


# ---------------------------------------------------------------------------
# The YOLOv8-v11 training augmentation (Ultralytics ``v8_transforms``):
# YOLOMosaic -> YOLOCopyPaste -> YOLORandomPerspective, the three run again on
# a second image by YOLOMixUp, then YOLOHSVRandomAug and mmdet's RandomFlip.
# Boxes are float32 (x1, y1, x2, y2) pixels, as Ultralytics keeps them;
# instance masks must be polygons (LoadAnnotations(poly2mask=False)).
# ---------------------------------------------------------------------------
_INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags',
                  'gt_masks')


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(
            value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f'{name} must be a number in [0, 1], got {value!r}')


def _check_positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(
            value, (int, np.integer)) or value <= 0:
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return int(value)


class _Instances:
    """The instance annotations of one results dict as NumPy arrays.

    ``polys`` is None without ``gt_masks``, else one list of (k, 2) float32
    point arrays (the parts of an object) per instance.
    """

    def __init__(self, boxes: np.ndarray, labels: np.ndarray,
                 ignore: np.ndarray, polys: Optional[list]) -> None:
        self.boxes, self.labels, self.ignore = boxes, labels, ignore
        self.polys = polys

    @classmethod
    def from_results(cls, results: dict, owner: str) -> '_Instances':
        boxes = results.get('gt_bboxes')
        if boxes is None:
            boxes = np.zeros((0, 4), np.float32)
        elif isinstance(boxes, HorizontalBoxes):
            boxes = boxes.numpy().astype(np.float32).reshape(-1, 4)
        else:
            raise TypeError(f'{owner} needs HorizontalBoxes gt_bboxes, got '
                            f'{type(boxes).__name__}')
        n = len(boxes)
        labels = np.asarray(
            results.get('gt_bboxes_labels', np.zeros(n)), dtype=np.int64)
        ignore = np.asarray(
            results.get('gt_ignore_flags', np.zeros(n)), dtype=bool)
        masks, polys = results.get('gt_masks'), None
        if masks is not None:
            if not isinstance(masks, PolygonMasks):
                raise TypeError(
                    f'{owner} needs polygon masks (YOLOLoadAnnotations or '
                    f'LoadAnnotations(poly2mask=False)), got '
                    f'{type(masks).__name__}')
            polys = [[
                np.asarray(p, np.float32).reshape(-1, 2) for p in inst
            ] for inst in masks.masks]
        if not len(labels) == len(ignore) == n or (polys is not None
                                                   and len(polys) != n):
            raise ValueError(f'{owner}: {n} boxes but {len(labels)} labels, '
                             f'{len(ignore)} ignore flags and '
                             f'{None if polys is None else len(polys)} masks')
        return cls(boxes, labels, ignore, polys)

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, idx) -> '_Instances':
        idx = np.flatnonzero(idx) if np.asarray(idx).dtype == bool else idx
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)
        polys = None if self.polys is None else [self.polys[i] for i in idx]
        return _Instances(self.boxes[idx], self.labels[idx], self.ignore[idx],
                          polys)

    @staticmethod
    def cat(parts: Sequence['_Instances']) -> '_Instances':
        """Concatenate; polygons are kept only if every part with
        instances has them (as Ultralytics drops the segments of a data set
        whose boxes are not all segments)."""
        keep = (any(p.polys is not None for p in parts)
                and all(p.polys is not None for p in parts if len(p)))
        polys = sum((p.polys or [] for p in parts), []) if keep else None
        return _Instances(
            np.concatenate([p.boxes for p in parts]).reshape(-1, 4),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.ignore for p in parts]), polys)

    def shift(self, dx: float, dy: float) -> None:
        self.boxes = self.boxes + np.array([dx, dy, dx, dy], np.float32)
        if self.polys is not None:
            off = np.array([dx, dy], np.float32)
            self.polys = [[p + off for p in inst] for inst in self.polys]

    def clip(self, w: float, h: float) -> None:
        """Clip boxes and polygon points into [0, w] x [0, h]."""
        self.boxes[:, [0, 2]] = self.boxes[:, [0, 2]].clip(0, w)
        self.boxes[:, [1, 3]] = self.boxes[:, [1, 3]].clip(0, h)
        if self.polys is not None:
            lim = np.array([w, h], np.float32)
            self.polys = [[np.clip(p, 0, lim) for p in inst]
                          for inst in self.polys]

    def to_results(self, results: dict, h: int, w: int) -> None:
        results['gt_bboxes'] = HorizontalBoxes(self.boxes.reshape(-1, 4))
        results['gt_bboxes_labels'] = self.labels
        results['gt_ignore_flags'] = self.ignore
        if self.polys is not None:
            results['gt_masks'] = PolygonMasks(
                [[p.reshape(-1) for p in inst] for inst in self.polys], h, w)
        else:
            results.pop('gt_masks', None)


@TRANSFORMS.register_module()
class YOLOLoadAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` for the YOLO training recipe: boxes and
    labels, plus the instances' polygons whenever the annotation has them.

    Ultralytics uses an object's segment wherever its labels carry one
    (its COCO labels do): boxes are re-derived from the warped polygon and
    copy-paste pastes polygons. With ``with_mask=None`` the polygons are
    loaded as ``PolygonMasks`` when every instance of the image has a
    ``mask`` (COCO ``segmentation``; a crowd RLE becomes mmdet's empty
    polygon with its ignore flag), and not at all otherwise, so one
    pipeline serves COCO and box-only sets alike. ``True`` / ``False``
    force mmdet's behaviour. Masks are always polygons (``poly2mask``
    False).

    Args:
        with_bbox (bool): Defaults to True.
        with_label (bool): Defaults to True.
        with_mask (bool, optional): None: polygons when present. Defaults
            to None.
        **kwargs: Other ``LoadAnnotations`` arguments.
    """

    def __init__(self,
                 with_bbox: bool = True,
                 with_label: bool = True,
                 with_mask: Optional[bool] = None,
                 **kwargs) -> None:
        if kwargs.pop('poly2mask', False):
            raise ValueError('YOLOLoadAnnotations loads polygons; '
                             'poly2mask=True is not supported')
        super().__init__(
            with_bbox=with_bbox,
            with_label=with_label,
            with_mask=bool(with_mask),
            poly2mask=False,
            **kwargs)
        self.auto_mask = with_mask is None

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        if self.auto_mask and all('mask' in inst
                                  for inst in results.get('instances', [])):
            self._load_masks(results)
        return results

    def __repr__(self) -> str:
        with_mask = None if self.auto_mask else self.with_mask
        return (f'{self.__class__.__name__}(with_bbox={self.with_bbox}, '
                f'with_label={self.with_label}, with_mask={with_mask})')


def resample_polygons(polys: list, num_points: int = 1000) -> list:
    """Resample every polygon part to a common number of points.

    A closed part with ``k`` vertices gets ``n`` points: its ``k + 1``
    vertices (the first repeated at the end) and ``n - k - 1`` points spaced
    evenly in vertex index between them, by linear interpolation; a part with
    more than ``n - 1`` vertices is replaced by ``n`` such points. ``n`` is
    ``num_points``, or one more than the longest part if that is longer.
    This is how Ultralytics prepares segments when it loads labels (1000
    points), which sets how finely a box is re-derived from a transformed
    polygon. Parts that already share one length of at least ``num_points``
    are left as they are, so the call is idempotent.

    Args:
        polys (list[list[np.ndarray]]): Per instance, (k, 2) point arrays.
        num_points (int): Points per part. Defaults to 1000.

    Returns:
        list[list[np.ndarray]]: The resampled (n, 2) float32 parts.
    """
    lengths = {len(p) for inst in polys for p in inst}
    if not lengths or (len(lengths) == 1 and min(lengths) >= num_points):
        return polys
    longest = max(lengths)
    n = longest + 1 if longest > num_points else num_points
    out = []
    for inst in polys:
        parts = []
        for p in inst:
            if len(p) == n:
                parts.append(p)
                continue
            closed = np.concatenate([p, p[:1]]).astype(np.float64)
            xp = np.arange(len(closed))
            if len(closed) < n:
                x = np.linspace(0, len(closed) - 1, n - len(closed))
                x = np.insert(x, np.searchsorted(x, xp), xp)
            else:
                x = np.linspace(0, len(closed) - 1, n)
            parts.append(
                np.stack([np.interp(x, xp, closed[:, 0]),
                          np.interp(x, xp, closed[:, 1])], 1).astype(
                              np.float32))
        out.append(parts)
    return out


@TRANSFORMS.register_module()
class YOLOMosaic(BaseTransform):
    """Four-image mosaic of YOLOv8-v11 (Ultralytics ``Mosaic`` with
    ``n=4``), the other three images drawn from a buffer of loaded images.

    The input is one image as the YOLO data loader reads it (long side
    resized to ``img_scale`` keeping the ratio: :class:`YOLOKeepRatioResize`
    before this transform). It is put first into the buffer (see below);
    then, with probability ``prob``, three images are drawn from the buffer
    with replacement (the current one among them) and the four are tiled
    on a ``2 * img_scale`` square canvas filled with ``pad_val``: the current
    image top-left, the others top-right, bottom-left and bottom-right of
    a centre ``(xc, yc)``, each drawn as ``int(uniform(s / 2, 3 s / 2))``
    with ``s = img_scale`` (Ultralytics' border ``-s // 2``); tiles are cut
    at the canvas edge. Boxes (and polygons) are shifted with their tile,
    clipped to the canvas, and boxes of zero area are dropped. The results
    carry ``mosaic_border`` for :class:`YOLORandomPerspective`, which crops
    the canvas back to ``img_scale``.

    The buffer mirrors Ultralytics' ``BaseDataset.buffer`` in the cached
    style of mmdet's ``CachedMosaic``: ``results_cache`` holds copies of
    the recently seen results (after resize, before mosaic), at most one
    per ``img_path`` (an image still in the buffer is not added again, as
    Ultralytics serves it from its cache); after an image is added, the
    oldest is evicted once the buffer holds ``max_cached_images`` and more
    than one. Ultralytics' buffer length is ``min(#images, 8 * batch size,
    1000)`` per data-loader worker (each worker has its own dataset copy,
    and here its own transform), so set ``max_cached_images`` to eight times
    the per-GPU batch size. Images enter the buffer even when ``prob`` skips
    the mosaic, and :class:`YOLOMixUp` draws its second image from it.

    With ``gt_masks`` (polygons), every part is first resampled to
    ``num_polygon_points`` points as Ultralytics does when it loads
    segments (:func:`resample_polygons`).

    Required keys: ``img`` (H, W, C), ``gt_bboxes`` (HorizontalBoxes),
    ``gt_bboxes_labels``, ``gt_ignore_flags``; ``gt_masks``
    (PolygonMasks), ``img_path`` (optional). Modified keys: ``img``,
    ``img_shape``, ``gt_*``. Added keys: ``mosaic_border``.

    Args:
        img_scale (int): Ultralytics' ``imgsz``; the canvas is twice this.
            Defaults to 640.
        prob (float): Probability of the mosaic (``mosaic``). Defaults to
            1.0.
        max_cached_images (int): Buffer length. Defaults to 256 (8 x 32).
        pad_val (int): Canvas fill value. Defaults to 114.
        num_polygon_points (int): Points per polygon part. Defaults to 1000.

    Example:
        >>> import numpy as np
        >>> from mmdet.structures.bbox import HorizontalBoxes
        >>> t = YOLOMosaic(img_scale=64)
        >>> out = t(dict(img=np.zeros((48, 64, 3), np.uint8),
        ...              gt_bboxes=HorizontalBoxes(np.zeros((0, 4))),
        ...              gt_bboxes_labels=np.zeros(0, np.int64),
        ...              gt_ignore_flags=np.zeros(0, bool)))
        >>> out['img'].shape, out['mosaic_border']
        ((128, 128, 3), (-32, -32))
    """

    def __init__(self,
                 img_scale: int = 640,
                 prob: float = 1.0,
                 max_cached_images: int = 256,
                 pad_val: int = 114,
                 num_polygon_points: int = 1000) -> None:
        self.img_scale = _check_positive_int('YOLOMosaic img_scale', img_scale)
        _check_fraction('YOLOMosaic prob', prob)
        self.max_cached_images = _check_positive_int(
            'YOLOMosaic max_cached_images', max_cached_images)
        if not isinstance(pad_val, (int, np.integer)) or isinstance(
                pad_val, bool) or not 0 <= pad_val <= 255:
            raise ValueError(
                f'YOLOMosaic pad_val must be an int in [0, 255], got '
                f'{pad_val!r}')
        self.num_polygon_points = _check_positive_int(
            'YOLOMosaic num_polygon_points', num_polygon_points)
        self.prob = prob
        self.pad_val = int(pad_val)
        self.border = -self.img_scale // 2
        self.results_cache = []
        self._cached_paths = []

    def add_to_cache(self, results: dict) -> None:
        """Put ``results`` into the buffer as Ultralytics' loader does."""
        key = results.get('img_path')
        if key is not None and key in self._cached_paths:
            return
        self.results_cache.append(copy.deepcopy(results))
        self._cached_paths.append(key)
        if 1 < len(self.results_cache) >= self.max_cached_images:
            self.results_cache.pop(0)
            self._cached_paths.pop(0)

    def _resample(self, results: dict) -> None:
        inst = _Instances.from_results(results, 'YOLOMosaic')
        if inst.polys is not None:
            inst.polys = resample_polygons(inst.polys,
                                           self.num_polygon_points)
            h, w = results['img'].shape[:2]
            inst.to_results(results, h, w)

    def transform(self, results: dict) -> dict:
        self._resample(results)
        self.add_to_cache(results)
        if random.uniform(0, 1) > self.prob:
            return results
        others = [
            copy.deepcopy(r)
            for r in random.choices(self.results_cache, k=3)
        ]
        s = self.img_scale
        yc, xc = (int(random.uniform(-self.border, 2 * s + self.border))
                  for _ in range(2))
        img0 = results['img']
        canvas = np.full((2 * s, 2 * s) + img0.shape[2:], self.pad_val,
                         dtype=img0.dtype)
        parts = []
        for i, tile in enumerate([results] + others):
            img = tile['img']
            h, w = img.shape[:2]
            if i == 0:  # top left
                x1a, y1a, x2a, y2a = max(xc - w, 0), max(yc - h, 0), xc, yc
                x1b, y1b = w - (x2a - x1a), h - (y2a - y1a)
                x2b, y2b = w, h
            elif i == 1:  # top right
                x1a, y1a = xc, max(yc - h, 0)
                x2a, y2a = min(xc + w, 2 * s), yc
                x1b, y1b = 0, h - (y2a - y1a)
                x2b, y2b = min(w, x2a - x1a), h
            elif i == 2:  # bottom left
                x1a, y1a = max(xc - w, 0), yc
                x2a, y2a = xc, min(2 * s, yc + h)
                x1b, y1b = w - (x2a - x1a), 0
                x2b, y2b = w, min(y2a - y1a, h)
            else:  # bottom right
                x1a, y1a = xc, yc
                x2a, y2a = min(xc + w, 2 * s), min(2 * s, yc + h)
                x1b, y1b = 0, 0
                x2b, y2b = min(w, x2a - x1a), min(y2a - y1a, h)
            canvas[y1a:y2a, x1a:x2a] = img[y1b:y2b, x1b:x2b]
            inst = _Instances.from_results(tile, 'YOLOMosaic')
            inst.shift(x1a - x1b, y1a - y1b)
            parts.append(inst)
        inst = _Instances.cat(parts)
        inst.clip(2 * s, 2 * s)
        b = inst.boxes
        inst = inst[(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) > 0]
        results['img'] = canvas
        results['img_shape'] = canvas.shape[:2]
        inst.to_results(results, 2 * s, 2 * s)
        results['mosaic_border'] = (self.border, self.border)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, '
                f'prob={self.prob}, '
                f'max_cached_images={self.max_cached_images}, '
                f'pad_val={self.pad_val})')


def _box_ioa(box1: np.ndarray, box2: np.ndarray,
             eps: float = 1e-7) -> np.ndarray:
    """(N, M) intersection of ``box1[i]`` and ``box2[j]`` over the area of
    ``box2[j]`` (xyxy)."""
    iw = (np.minimum(box1[:, None, 2], box2[:, 2]) -
          np.maximum(box1[:, None, 0], box2[:, 0])).clip(0)
    ih = (np.minimum(box1[:, None, 3], box2[:, 3]) -
          np.maximum(box1[:, None, 1], box2[:, 1])).clip(0)
    area2 = (box2[:, 2] - box2[:, 0]) * (box2[:, 3] - box2[:, 1])
    return iw * ih / (area2 + eps)


@TRANSFORMS.register_module()
class YOLOCopyPaste(BaseTransform):
    """Copy-paste of YOLOv8-v11 (Ultralytics ``CopyPaste``, mode
    ``'flip'``): objects of the image pasted onto its own mirror position.

    Every instance is mirrored left-right (box and polygon). Mirrored
    objects whose box covers less than 30 % of every original box
    (intersection over the original box's area) are candidates; sorted by
    that largest overlap, the first ``round(prob * n)`` of the ``n``
    candidates are pasted: their polygons are filled into a mask, the
    image takes the mirrored image's pixels under it, and their boxes,
    labels and polygons are appended. ``prob`` is thus the *fraction* of
    candidates pasted in every image, not a probability. In the YOLO
    pipeline it runs on the mosaic canvas, before
    :class:`YOLORandomPerspective`.

    Without instance masks nothing is pasted, exactly as Ultralytics
    skips copy-paste for labels without segments (``len(segments) ==
    0``): on box-only data this transform is the identity. Ultralytics'
    COCO labels do carry segments, so to train as there load the polygons
    (``LoadAnnotations(with_mask=True, poly2mask=False)``).

    Required keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``; ``gt_masks`` (PolygonMasks, optional). Modified
    keys: ``img``, ``gt_*``.

    Args:
        prob (float): Fraction of candidates pasted (``copy_paste``).
            Defaults to 0.5.
        mode (str): Only ``'flip'`` (``copy_paste_mode``; Ultralytics'
            ``'mixup'`` mode, pasting from another image, is not
            implemented). Defaults to 'flip'.
    """

    def __init__(self, prob: float = 0.5, mode: str = 'flip') -> None:
        _check_fraction('YOLOCopyPaste prob', prob)
        if mode != 'flip':
            raise ValueError(f"YOLOCopyPaste mode must be 'flip', got "
                             f'{mode!r}')
        self.prob = prob
        self.mode = mode

    def transform(self, results: dict) -> dict:
        inst = _Instances.from_results(results, 'YOLOCopyPaste')
        if inst.polys is None or len(inst) == 0 or self.prob == 0:
            return results
        img = results['img'].copy()
        h, w = img.shape[:2]
        flipped = inst[np.arange(len(inst))]
        flipped.boxes = flipped.boxes.copy()
        flipped.boxes[:, [0, 2]] = w - inst.boxes[:, [2, 0]]
        flipped.polys = [[np.stack([w - p[:, 0], p[:, 1]], 1) for p in parts]
                         for parts in inst.polys]
        ioa = _box_ioa(flipped.boxes, inst.boxes)
        cand = np.nonzero((ioa < 0.30).all(1))[0]
        cand = cand[np.argsort(ioa.max(1)[cand])]
        chosen = cand[:round(self.prob * len(cand))]
        if len(chosen) == 0:
            return results
        mask = np.zeros(img.shape, np.uint8)
        for j in chosen:
            cv2.drawContours(mask,
                             [p.astype(np.int32) for p in flipped.polys[j]],
                             -1, (1, 1, 1), cv2.FILLED)
        keep = mask.astype(bool)
        img[keep] = cv2.flip(results['img'], 1)[keep]
        inst = _Instances.cat([inst, flipped[chosen]])
        results['img'] = img
        inst.to_results(results, h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f"mode='{self.mode}')")


@TRANSFORMS.register_module()
class YOLORandomPerspective(BaseTransform):
    """Random affine (optionally perspective) warp of YOLOv8-v11
    (Ultralytics ``RandomPerspective``), with its box filter.

    Output size: after :class:`YOLOMosaic` (results with
    ``mosaic_border``) the canvas shrunk by the border on each side
    (``img_scale``); otherwise the image is first letterboxed to
    ``img_scale`` (:class:`YOLOLetterBox` with ``scaleup=True``, centred,
    ``pad_val``), as Ultralytics' ``pre_transform`` does when the mosaic is
    off. The matrix is ``M = T @ S @ R @ P @ C``: C moves the image centre
    to the origin; P perspective terms ~ U(-perspective, perspective); R
    rotation ~ U(-max_rotate_degree, max_rotate_degree) with zoom
    ``s ~ U(*scaling_ratio_range)``; S shears ~ U(-max_shear_degree,
    max_shear_degree) degrees; T moves the origin to
    ``U(0.5 - t, 0.5 + t)`` times the output size, ``t =
    max_translate_ratio``. The image is warped bilinearly with ``pad_val``
    outside.

    Boxes: the four corners are mapped and the enclosing box taken; with
    polygon masks the box is instead the extent of the mapped polygon
    points inside the output (clipped first when three of its four sides
    are out), and the points are clipped into that box. Boxes and points
    are clipped to the output. A box is kept if its width and height
    exceed ``min_bbox_size``, its aspect ratio (long / short side) is below
    ``max_aspect_ratio``, and its area exceeds ``min_area_ratio`` (with
    polygon masks ``min_area_ratio_with_masks``) times the area of the
    input box zoomed by ``s`` (Ultralytics' ``box_candidates``).

    Required keys: ``img``, ``gt_bboxes``, ``gt_bboxes_labels``,
    ``gt_ignore_flags``; ``gt_masks`` (PolygonMasks), ``mosaic_border``
    (optional). Modified keys: ``img``, ``img_shape``, ``gt_*``. Removed
    keys: ``mosaic_border``.

    Args:
        img_scale (int): Output size without mosaic (``imgsz``). Defaults
            to 640.
        max_rotate_degree (float): ``degrees``. Defaults to 0.0.
        max_translate_ratio (float): ``translate``, in [0, 1]. Defaults to
            0.1.
        scaling_ratio_range (tuple[float, float]): Zoom range; Ultralytics'
            ``scale`` s is ``(1 - s, 1 + s)``. Defaults to (0.5, 1.5).
        max_shear_degree (float): ``shear``, in [0, 90). Defaults to 0.0.
        perspective (float): ``perspective``, in [0, 1]. Defaults to 0.0.
        pad_val (int): Fill value. Defaults to 114.
        min_bbox_size (float): Defaults to 2.
        max_aspect_ratio (float): Defaults to 100.
        min_area_ratio (float): Defaults to 0.1.
        min_area_ratio_with_masks (float): Defaults to 0.01.
        num_polygon_points (int): Points per polygon part when the
            polygons have not been resampled by :class:`YOLOMosaic`.
            Defaults to 1000.
    """

    def __init__(self,
                 img_scale: int = 640,
                 max_rotate_degree: float = 0.0,
                 max_translate_ratio: float = 0.1,
                 scaling_ratio_range: Tuple[float, float] = (0.5, 1.5),
                 max_shear_degree: float = 0.0,
                 perspective: float = 0.0,
                 pad_val: int = 114,
                 min_bbox_size: float = 2,
                 max_aspect_ratio: float = 100,
                 min_area_ratio: float = 0.1,
                 min_area_ratio_with_masks: float = 0.01,
                 num_polygon_points: int = 1000) -> None:
        self.img_scale = _check_positive_int(
            'YOLORandomPerspective img_scale', img_scale)
        _check_fraction('YOLORandomPerspective max_translate_ratio',
                        max_translate_ratio)
        _check_fraction('YOLORandomPerspective perspective', perspective)
        if not (isinstance(max_rotate_degree, (int, float))
                and max_rotate_degree >= 0):
            raise ValueError(f'YOLORandomPerspective max_rotate_degree must '
                             f'be >= 0, got {max_rotate_degree!r}')
        if not (isinstance(max_shear_degree, (int, float))
                and 0 <= max_shear_degree < 90):
            raise ValueError(f'YOLORandomPerspective max_shear_degree must '
                             f'be in [0, 90), got {max_shear_degree!r}')
        if (not isinstance(scaling_ratio_range, (tuple, list))
                or len(scaling_ratio_range) != 2
                or not 0 <= scaling_ratio_range[0] <= scaling_ratio_range[1]):
            raise ValueError(f'YOLORandomPerspective scaling_ratio_range '
                             f'must be (lo, hi) with 0 <= lo <= hi, got '
                             f'{scaling_ratio_range!r}')
        for name, val in (('min_bbox_size', min_bbox_size),
                          ('max_aspect_ratio', max_aspect_ratio),
                          ('min_area_ratio', min_area_ratio),
                          ('min_area_ratio_with_masks',
                           min_area_ratio_with_masks)):
            if not isinstance(val, (int, float)) or val < 0:
                raise ValueError(f'YOLORandomPerspective {name} must be '
                                 f'>= 0, got {val!r}')
        self.max_rotate_degree = max_rotate_degree
        self.max_translate_ratio = max_translate_ratio
        self.scaling_ratio_range = tuple(scaling_ratio_range)
        self.max_shear_degree = max_shear_degree
        self.perspective = perspective
        self.pad_val = pad_val
        self.min_bbox_size = min_bbox_size
        self.max_aspect_ratio = max_aspect_ratio
        self.min_area_ratio = min_area_ratio
        self.min_area_ratio_with_masks = min_area_ratio_with_masks
        self.num_polygon_points = _check_positive_int(
            'YOLORandomPerspective num_polygon_points', num_polygon_points)
        self.letterbox = YOLOLetterBox(
            size=self.img_scale, scaleup=True, pad_val=pad_val)

    def _matrix(self, img_hw: Tuple[int, int],
                size: Tuple[int, int]) -> Tuple[np.ndarray, float]:
        """M (3x3 float32) and the zoom; ``size`` is the output (w, h)."""
        C = np.eye(3, dtype=np.float32)
        C[0, 2] = -img_hw[1] / 2
        C[1, 2] = -img_hw[0] / 2
        P = np.eye(3, dtype=np.float32)
        P[2, 0] = random.uniform(-self.perspective, self.perspective)
        P[2, 1] = random.uniform(-self.perspective, self.perspective)
        R = np.eye(3, dtype=np.float32)
        angle = random.uniform(-self.max_rotate_degree,
                               self.max_rotate_degree)
        scale = random.uniform(*self.scaling_ratio_range)
        R[:2] = cv2.getRotationMatrix2D(
            angle=angle, center=(0, 0), scale=scale)
        S = np.eye(3, dtype=np.float32)
        S[0, 1] = math.tan(
            random.uniform(-self.max_shear_degree, self.max_shear_degree) *
            math.pi / 180)
        S[1, 0] = math.tan(
            random.uniform(-self.max_shear_degree, self.max_shear_degree) *
            math.pi / 180)
        T = np.eye(3, dtype=np.float32)
        t = self.max_translate_ratio
        T[0, 2] = random.uniform(0.5 - t, 0.5 + t) * size[0]
        T[1, 2] = random.uniform(0.5 - t, 0.5 + t) * size[1]
        return T @ S @ R @ P @ C, scale

    def _map_points(self, xy: np.ndarray, M: np.ndarray) -> np.ndarray:
        out = np.ones((len(xy), 3), dtype=np.float32)
        out[:, :2] = xy
        out = out @ M.T
        return out[:, :2] / out[:, 2:3]

    def _polygon_box(self, parts: list, w: int, h: int) -> np.ndarray:
        pts = np.concatenate(parts)
        x, y = pts[:, 0], pts[:, 1]
        if sum((x.min() < 0, y.min() < 0, x.max() > w, y.max() > h)) >= 3:
            x, y = x.clip(0, w), y.clip(0, h)
        inside = (x >= 0) & (y >= 0) & (x <= w) & (y <= h)
        x, y = x[inside], y[inside]
        if not np.any(x):  # as Ultralytics: no point inside (or all at 0)
            return np.zeros(4, np.float32)
        return np.array([x.min(), y.min(), x.max(), y.max()], np.float32)

    def transform(self, results: dict) -> dict:
        if 'mosaic_border' in results:
            border = results.pop('mosaic_border')
        else:
            results = self.letterbox(results)
            border = (0, 0)
        inst = _Instances.from_results(results, 'YOLORandomPerspective')
        if inst.polys is not None:
            inst.polys = resample_polygons(inst.polys,
                                           self.num_polygon_points)
        img = results['img']
        size = (img.shape[1] + border[1] * 2, img.shape[0] + border[0] * 2)
        M, scale = self._matrix(img.shape[:2], size)
        if border[0] != 0 or border[1] != 0 or (M != np.eye(3)).any():
            fill = (self.pad_val, ) * 3
            if self.perspective:
                img = cv2.warpPerspective(
                    img, M, dsize=size, borderValue=fill)
            else:
                img = cv2.warpAffine(img, M[:2], dsize=size, borderValue=fill)
        w, h = size
        n = len(inst)
        new = _Instances(
            np.zeros((n, 4), np.float32), inst.labels, inst.ignore, None)
        if n:
            corners = inst.boxes[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(-1, 2)
            xy = np.ones((n * 4, 3), dtype=np.float32)
            xy[:, :2] = corners
            xy = xy @ M.T
            if self.perspective:
                xy = xy[:, :2] / xy[:, 2:3]
            xy = xy[:, :2].reshape(n, 8)
            px, py = xy[:, [0, 2, 4, 6]], xy[:, [1, 3, 5, 7]]
            new.boxes = np.stack(
                [px.min(1), py.min(1), px.max(1), py.max(1)], 1)
        if inst.polys is not None:
            new.polys = []
            for j, parts in enumerate(inst.polys):
                parts = [self._map_points(p, M) for p in parts]
                box = self._polygon_box(parts, w, h)
                new.boxes[j] = box
                new.polys.append([np.clip(p, box[:2], box[2:])
                                  for p in parts])
        new.clip(w, h)
        with_masks = inst.polys is not None and n > 0
        keep = self._box_candidates(
            inst.boxes * scale, new.boxes, self.min_area_ratio_with_masks
            if with_masks else self.min_area_ratio)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        new[keep].to_results(results, h, w)
        return results

    def _box_candidates(self,
                        box1: np.ndarray,
                        box2: np.ndarray,
                        area_thr: float,
                        eps: float = 1e-16) -> np.ndarray:
        w1, h1 = box1[:, 2] - box1[:, 0], box1[:, 3] - box1[:, 1]
        w2, h2 = box2[:, 2] - box2[:, 0], box2[:, 3] - box2[:, 1]
        ar = np.maximum(w2 / (h2 + eps), h2 / (w2 + eps))
        return ((w2 > self.min_bbox_size) & (h2 > self.min_bbox_size) &
                (w2 * h2 / (w1 * h1 + eps) > area_thr) &
                (ar < self.max_aspect_ratio))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(img_scale={self.img_scale}, '
                f'max_rotate_degree={self.max_rotate_degree}, '
                f'max_translate_ratio={self.max_translate_ratio}, '
                f'scaling_ratio_range={self.scaling_ratio_range}, '
                f'max_shear_degree={self.max_shear_degree}, '
                f'perspective={self.perspective}, pad_val={self.pad_val})')


@TRANSFORMS.register_module()
class YOLOMixUp(BaseTransform):
    """MixUp of YOLOv8-v11 (Ultralytics ``MixUp`` with its
    ``pre_transform``), wrapping the transforms it repeats.

    The results first go through ``pre_transform`` (in the YOLO recipe
    :class:`YOLOMosaic`, :class:`YOLOCopyPaste`,
    :class:`YOLORandomPerspective`). Then, with probability ``prob``, a
    second image is drawn uniformly from the mosaic's buffer, passed
    through the same ``pre_transform`` objects (a fresh mosaic around it,
    its own copy-paste and warp), and blended: ``img = uint8(r * img + (1 -
    r) * img2)`` with ``r ~ Beta(32, 32)``; the instances of both are
    kept. Ultralytics draws the second image from the whole dataset
    (loading it puts it into the buffer); the buffer is a sample of the
    recently read, shuffled images, so the distribution is the same.

    The transforms are wrapped rather than listed before this one so that
    both images go through the same objects, sharing the mosaic buffer,
    as Ultralytics' ``pre_transform`` does.

    Required keys: those of ``pre_transform``. Modified keys: ``img``,
    ``img_shape``, ``gt_*``.

    Args:
        prob (float): Probability of mixing (``mixup``). Defaults to 0.0.
        pre_transform (Sequence[dict | callable]): Transforms applied to
            both images; when ``prob > 0`` one of them must be a
            :class:`YOLOMosaic` (it owns the image buffer, also with mosaic
            prob 0). Defaults to None (none).
    """

    def __init__(self,
                 prob: float = 0.0,
                 pre_transform: Optional[Sequence[Union[dict,
                                                        Callable]]] = None
                 ) -> None:
        from mmcv.transforms import Compose
        _check_fraction('YOLOMixUp prob', prob)
        built = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in (pre_transform or [])
        ]
        self.mosaic = next((t for t in built if isinstance(t, YOLOMosaic)),
                           None)
        if prob > 0 and self.mosaic is None:
            raise ValueError('YOLOMixUp with prob > 0 needs a YOLOMosaic in '
                             'pre_transform (its buffer supplies the second '
                             f'image), got {built}')
        self.prob = prob
        self.pre_transform = Compose(built)

    def transform(self, results: dict) -> dict:
        results = self.pre_transform(results)
        if results is None or random.uniform(0, 1) > self.prob:
            return results
        cache = self.mosaic.results_cache
        source = copy.deepcopy(cache[random.randint(0, len(cache) - 1)])
        other = self.pre_transform(source)
        r = np.random.beta(32.0, 32.0)
        img = (results['img'] * r + other['img'] * (1 - r)).astype(np.uint8)
        inst = _Instances.cat([
            _Instances.from_results(results, 'YOLOMixUp'),
            _Instances.from_results(other, 'YOLOMixUp')
        ])
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        inst.to_results(results, *img.shape[:2])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'pre_transform={self.pre_transform})')
