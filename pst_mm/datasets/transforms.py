# Copyright (c) pst-mm contributors. All rights reserved.
import copy
import random

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
