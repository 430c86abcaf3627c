# Copyright (c) pst-mm contributors. All rights reserved.
import copy
import random
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.datasets.transforms import CopyPaste
from mmdet.registry import TRANSFORMS


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
