# Copyright (c) pst-mm contributors. All rights reserved.
"""Held-out detection sets: data no pst-mm default was chosen on.

The demo set (:func:`build_det_demo`) picked the ``PSTFPN`` defaults, so it
cannot also judge them. These sets are built the same way (nothing is
downloaded; COCO format, one train and one val split) but differ in
character from it and from each other:

* ``'faces'`` (real photographs): smaller objects, up to 6 per non-square
  (160 x 120) image, most of them faces of the Labeled Faces in the Wild
  subset that scikit-image ships (``lfw_subset.npy``, 200 grey 25 x 25
  photographs), the others crops of the motorcycle and clock photographs;
  15-40 % of the short side, pasted onto crops of photographs that are not
  objects here.
* ``'shapes'`` (synthetic): 1-4 filled or outlined circles, triangles,
  rectangles and crosses in random colours, 20-60 % of the side, allowed
  to overlap, on noisy colour gradients (128 x 128).

Both are plain COCO sets: any config reads them with a ``data_root`` and
the class names from :data:`HELDOUT_CLASSES`.
"""
import os.path as osp
from functools import partial
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .demo_data import (_jitter, _load, _random_crop, place_box,
                        skimage_data_dir, write_coco_det)

HELDOUT_CLASSES: Dict[str, Tuple[str, ...]] = dict(
    faces=('face', 'motorcycle', 'clock'),
    shapes=('circle', 'triangle', 'rectangle', 'cross'))
# Photographs the 'faces' set uses as backgrounds: none is an object class.
FACES_BACKGROUNDS = ('brick.png', 'grass.png', 'gravel.png', 'moon.png',
                     'page.png', 'coffee.png', 'hubble_deep_field.jpg',
                     'retina.jpg', 'coins.png', 'ihc.png')


def _faces_sources() -> Dict[str, List[np.ndarray]]:
    path = osp.join(skimage_data_dir(), 'lfw_subset.npy')
    # A plain float array: allow_pickle stays off, nothing can run.
    faces = np.load(path, allow_pickle=False)
    faces = [
        cv2.cvtColor((f * 255).clip(0, 255).astype(np.uint8),
                     cv2.COLOR_GRAY2BGR) for f in faces
    ]
    return dict(
        face=faces,
        motorcycle=[_load('motorcycle_left.png'),
                    _load('motorcycle_right.png')],
        clock=[_load('clock_motion.png')])


def _faces_image(rng: np.random.Generator, sources, backgrounds,
                 size: Tuple[int, int]):
    h_img, w_img = size
    bg = _random_crop(backgrounds[rng.integers(len(backgrounds))], rng, 0.2)
    img = _jitter(cv2.resize(bg, (w_img, h_img)), rng)
    short = min(h_img, w_img)
    boxes, labels = [], []
    classes = HELDOUT_CLASSES['faces']
    for _ in range(rng.integers(1, 7)):
        # faces are the common class, as people are in real data
        label = int(rng.choice(len(classes), p=[0.6, 0.2, 0.2]))
        box = place_box(rng, boxes, size, short, (0.15, 0.4), (0.8, 1.3),
                        (6, h_img - 1), 0.1)
        if box is None:
            continue
        x, y, w, h = (int(v) for v in box)
        pool = sources[classes[label]]
        src = pool[rng.integers(len(pool))]
        if label != 0:  # faces are already tight crops
            src = _random_crop(src, rng, 0.7)
        img[y:y + h, x:x + w] = _jitter(cv2.resize(src, (w, h)), rng)
        boxes.append(box)
        labels.append(label)
    return img, boxes, labels


def _shape_mask(kind: str, w: int, h: int, rng: np.random.Generator,
                filled: bool) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    thick = -1 if filled else max(2, min(w, h) // 8)
    if kind == 'circle':
        cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2 - 1),
                                             max(1, h // 2 - 1)), 0, 0, 360,
                    1, thick)
    elif kind == 'triangle':
        apex = int(rng.uniform(0.2, 0.8) * (w - 1))
        pts = np.array([[apex, 0], [0, h - 1], [w - 1, h - 1]], np.int32)
        if filled:
            cv2.fillPoly(mask, [pts], 1)
        else:
            cv2.polylines(mask, [pts], True, 1, thick)
    elif kind == 'rectangle':
        cv2.rectangle(mask, (0, 0), (w - 1, h - 1), 1, thick)
    else:  # cross: two bars a third of the side wide
        bw, bh = max(2, w // 3), max(2, h // 3)
        mask[:, (w - bw) // 2:(w + bw) // 2] = 1
        mask[(h - bh) // 2:(h + bh) // 2, :] = 1
    return mask.astype(bool)


def _shapes_image(rng: np.random.Generator, size: Tuple[int, int]):
    h_img, w_img = size
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, w_img)[None, :, None]
    if rng.random() < 0.5:
        t = np.linspace(0, 1, h_img)[:, None, None]
    img = c0 * (1 - t) + c1 * t + rng.normal(0, 12, (h_img, w_img, 3))
    img = np.broadcast_to(img, (h_img, w_img, 3)).clip(0, 255).astype(
        np.uint8).copy()
    boxes, labels = [], []
    classes = HELDOUT_CLASSES['shapes']
    for _ in range(rng.integers(1, 5)):
        label = int(rng.integers(len(classes)))
        box = place_box(rng, boxes, size, min(size), (0.2, 0.6), (0.6, 1.6),
                        (8, h_img - 1), 0.3)
        if box is None:
            continue
        x, y, w, h = (int(v) for v in box)
        mask = _shape_mask(classes[label], w, h, rng, rng.random() < 0.6)
        colour = rng.integers(0, 256, 3).astype(np.uint8)
        img[y:y + h, x:x + w][mask] = colour
        boxes.append(box)
        labels.append(label)
    return img, boxes, labels


def build_det_heldout(out_dir: str,
                      kind: str,
                      num_train: int = 192,
                      num_val: int = 64,
                      seed: int = 0) -> Dict[str, str]:
    """Write a held-out detection set in COCO format.

    Layout (as :func:`build_det_demo`)::

        out_dir/
          train/0000.jpg ...   val/0000.jpg ...
          annotations/instances_train.json, instances_val.json

    Args:
        out_dir (str): Output folder, created if missing.
        kind (str): ``'faces'`` (real photographs, 160 x 120) or
            ``'shapes'`` (synthetic, 128 x 128); see the module docstring.
        num_train (int): Training images. Defaults to 192.
        num_val (int): Validation images. Defaults to 64.
        seed (int): Random seed; the same seed writes the same set.
            Defaults to 0.

    Returns:
        dict[str, str]: Paths of the written annotation files.
    """
    if kind not in HELDOUT_CLASSES:
        raise ValueError(f'unknown held-out set {kind!r}; expected one of '
                         f'{sorted(HELDOUT_CLASSES)}')
    rng = np.random.default_rng(seed)
    if kind == 'faces':
        size = (120, 160)
        make = partial(_faces_image, rng, _faces_sources(),
                       [_load(f) for f in FACES_BACKGROUNDS], size)
    else:
        size = (128, 128)
        make = partial(_shapes_image, rng, size)
    return write_coco_det(out_dir, HELDOUT_CLASSES[kind], size, make,
                          dict(train=num_train, val=num_val), kind)
