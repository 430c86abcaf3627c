# Copyright (c) pst-mm contributors. All rights reserved.
"""Small detection and classification sets built from real photographs.

Nothing is downloaded: the photographs are the ones scikit-image ships in
``skimage/data`` (astronaut, chelsea the cat, coffee, rocket, ...). The files
are read straight from the installed package; ``skimage`` itself is never
imported.

* Detection (COCO format): thumbnails of four photographs (the object
  classes) pasted at random positions, sizes and aspect ratios onto random
  crops of other photographs (the backgrounds), with exact boxes.
* Classification (one folder per class, as mmpretrain's ``CustomDataset``
  reads): random crops of six photographs; the class is the photograph.
"""
import importlib.util
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

DET_CLASSES = ('astronaut', 'cat', 'coffee', 'rocket')
DET_SOURCES = dict(
    astronaut='astronaut.png',
    cat='chelsea.png',
    coffee='coffee.png',
    rocket='rocket.jpg')
BACKGROUNDS = ('brick.png', 'grass.png', 'gravel.png', 'camera.png',
               'moon.png', 'page.png', 'text.png', 'hubble_deep_field.jpg',
               'retina.jpg', 'ihc.png', 'clock_motion.png', 'cell.png',
               'motorcycle_left.png')
CLS_SOURCES = dict(
    astronaut='astronaut.png',
    cat='chelsea.png',
    coffee='coffee.png',
    rocket='rocket.jpg',
    motorcycle='motorcycle_left.png',
    coins='coins.png')


def skimage_data_dir() -> str:
    """The ``skimage/data`` folder of the installed scikit-image."""
    spec = importlib.util.find_spec('skimage')
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            'the demo sets are built from the photographs shipped with '
            'scikit-image; install it with `pip install scikit-image` '
            '(tools/install.sh does)')
    path = osp.join(list(spec.submodule_search_locations)[0], 'data')
    if not osp.isfile(osp.join(path, 'astronaut.png')):
        raise RuntimeError(f'no scikit-image photographs found in {path}')
    return path


def _load(name: str) -> np.ndarray:
    path = osp.join(skimage_data_dir(), name)
    img = cv2.imread(path, cv2.IMREAD_COLOR)  # BGR, grey expanded to 3 ch
    if img is None:
        raise RuntimeError(f'could not read {path}')
    return img


def _random_crop(img: np.ndarray, rng: np.random.Generator,
                 min_frac: float) -> np.ndarray:
    H, W = img.shape[:2]
    frac = rng.uniform(min_frac, 1.0)
    h, w = max(8, int(H * frac)), max(8, int(W * frac))
    y, x = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
    return img[y:y + h, x:x + w]


def _jitter(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5:
        img = img[:, ::-1]
    gain = rng.uniform(0.75, 1.25)
    bias = rng.uniform(-20, 20)
    return np.clip(img.astype(np.float32) * gain + bias, 0,
                   255).astype(np.uint8)


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def place_box(rng: np.random.Generator, boxes: List[List[float]],
              img_hw: Tuple[int, int], base: float,
              width_frac: Tuple[float, float],
              aspect_range: Tuple[float, float], height_clip: Tuple[float,
                                                                    float],
              max_iou: float) -> Optional[List[float]]:
    """Draw a COCO box ``[x, y, w, h]`` inside the image that overlaps each
    of ``boxes`` by IoU < ``max_iou``; None after 20 tries.

    The width is ``base`` times a fraction drawn from ``width_frac``, the
    height the width times a factor from ``aspect_range``, clipped to
    ``height_clip``.
    """
    H, W = img_hw
    for _try in range(20):
        w = int(base * rng.uniform(*width_frac))
        h = int(np.clip(w * rng.uniform(*aspect_range), *height_clip))
        x, y = rng.integers(0, W - w + 1), rng.integers(0, H - h + 1)
        box = [float(x), float(y), float(w), float(h)]
        if all(_iou(box, other) < max_iou for other in boxes):
            return box
    return None


def _det_image(rng: np.random.Generator, size: int, objects: Dict[str,
                                                                  np.ndarray],
               backgrounds: List[np.ndarray], max_objects: int):
    bg = _random_crop(backgrounds[rng.integers(len(backgrounds))], rng, 0.3)
    img = _jitter(cv2.resize(bg, (size, size)), rng)
    boxes, labels = [], []
    for _ in range(rng.integers(1, max_objects + 1)):
        label = int(rng.integers(len(DET_CLASSES)))
        box = place_box(rng, boxes, (size, size), size, (0.2, 0.5), (0.7, 1.4),
                        (8, size * 0.6), 0.2)
        if box is None:
            continue
        x, y, w, h = (int(v) for v in box)
        src = _random_crop(objects[DET_CLASSES[label]], rng, 0.8)
        img[y:y + h, x:x + w] = _jitter(cv2.resize(src, (w, h)), rng)
        boxes.append(box)
        labels.append(label)
    return img, boxes, labels


def build_det_demo(out_dir: str,
                   num_train: int = 256,
                   num_val: int = 64,
                   img_size: int = 128,
                   max_objects: int = 3,
                   seed: int = 0) -> Dict[str, str]:
    """Write the detection demo set in COCO format.

    Layout::

        out_dir/
          train/0000.jpg ...   val/0000.jpg ...
          annotations/instances_train.json, instances_val.json
          annotations/image_info_test.json   (val images, no annotations:
                                              a stand-in for test-dev)

    Args:
        out_dir (str): Output folder, created if missing.
        num_train (int): Training images. Defaults to 256.
        num_val (int): Validation images. Defaults to 64.
        img_size (int): Square image side. Defaults to 128.
        max_objects (int): Objects per image, 1 to this. Defaults to 3.
        seed (int): Random seed; the same seed writes the same set.
            Defaults to 0.

    Returns:
        dict[str, str]: Paths of the written annotation files.
    """
    rng = np.random.default_rng(seed)
    objects = {c: _load(f) for c, f in DET_SOURCES.items()}
    backgrounds = [_load(f) for f in BACKGROUNDS]
    return write_coco_det(
        out_dir, DET_CLASSES, (img_size, img_size),
        lambda: _det_image(rng, img_size, objects, backgrounds, max_objects),
        dict(train=num_train, val=num_val), 'demo', test_info=True)


def write_coco_det(out_dir: str,
                   classes: Sequence[str],
                   size: Tuple[int, int],
                   make_image: Callable[[], tuple],
                   splits: Dict[str, int],
                   supercategory: str,
                   test_info: bool = False) -> Dict[str, str]:
    """Write generated images and boxes as a COCO detection set.

    Args:
        out_dir (str): Output folder, created if missing.
        classes (Sequence[str]): Class names; category ids are 1-based.
        size (tuple[int, int]): (height, width) of every image.
        make_image (callable): Returns ``(img, boxes, labels)``: a BGR
            uint8 image, COCO ``[x, y, w, h]`` boxes and 0-based labels.
        splits (dict[str, int]): Images per split, written to
            ``out_dir/<split>/`` and ``annotations/instances_<split>.json``.
        supercategory (str): COCO supercategory of every class.
        test_info (bool): Also write ``annotations/image_info_test.json``
            (the val images without annotations: a stand-in for test-dev).
            Defaults to False.

    Returns:
        dict[str, str]: Paths of the written annotation files by split
        (and ``'test'``).
    """
    categories = [
        dict(id=i + 1, name=name, supercategory=supercategory)
        for i, name in enumerate(classes)
    ]
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    paths = {}
    for split, num in splits.items():
        os.makedirs(osp.join(out_dir, split), exist_ok=True)
        images, anns = [], []
        for i in range(num):
            img, boxes, labels = make_image()
            name = f'{i:04d}.jpg'
            cv2.imwrite(osp.join(out_dir, split, name), img,
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
            images.append(
                dict(id=i + 1, file_name=name, width=size[1],
                     height=size[0]))
            for box, label in zip(boxes, labels):
                anns.append(
                    dict(
                        id=len(anns) + 1,
                        image_id=i + 1,
                        category_id=label + 1,
                        bbox=box,
                        area=box[2] * box[3],
                        iscrowd=0))
        path = osp.join(out_dir, 'annotations', f'instances_{split}.json')
        with open(path, 'w') as f:
            json.dump(
                dict(images=images, annotations=anns, categories=categories),
                f)
        paths[split] = path
        if test_info and split == 'val':
            path = osp.join(out_dir, 'annotations', 'image_info_test.json')
            with open(path, 'w') as f:
                json.dump(dict(images=images, categories=categories), f)
            paths['test'] = path
    return paths


def build_cls_demo(out_dir: str,
                   num_train_per_class: int = 64,
                   num_val_per_class: int = 16,
                   img_size: int = 96,
                   seed: int = 0,
                   classes: Optional[Sequence[str]] = None) -> List[str]:
    """Write the classification demo set, one folder per class.

    Layout (what mmpretrain's ``CustomDataset`` reads with
    ``data_prefix='train'``)::

        out_dir/train/<class>/0000.jpg ...   out_dir/val/<class>/0000.jpg ...
        out_dir/classes.txt

    Each image is a random crop (10-50 % of the side) of its class's
    photograph, jittered and resized, so a classifier must recognise the
    content of a region, not the whole picture.

    Args:
        out_dir (str): Output folder, created if missing.
        num_train_per_class (int): Training images per class. Defaults to 64.
        num_val_per_class (int): Validation images per class. Defaults to 16.
        img_size (int): Square image side. Defaults to 96.
        seed (int): Random seed. Defaults to 0.
        classes (Sequence[str], optional): Subset of the classes.
            Defaults to all six.

    Returns:
        list[str]: The class names, in label order.
    """
    classes = list(classes or CLS_SOURCES)
    unknown = [c for c in classes if c not in CLS_SOURCES]
    if unknown:
        raise ValueError(f'unknown demo classes {unknown}; choose from '
                         f'{list(CLS_SOURCES)}')
    rng = np.random.default_rng(seed)
    for split, num in (('train', num_train_per_class), ('val',
                                                        num_val_per_class)):
        for name in classes:
            photo = _load(CLS_SOURCES[name])
            folder = osp.join(out_dir, split, name)
            os.makedirs(folder, exist_ok=True)
            for i in range(num):
                H, W = photo.shape[:2]
                side = int(min(H, W) * rng.uniform(0.1, 0.5))
                y = rng.integers(0, H - side + 1)
                x = rng.integers(0, W - side + 1)
                crop = photo[y:y + side, x:x + side]
                img = _jitter(cv2.resize(crop, (img_size, img_size)), rng)
                cv2.imwrite(osp.join(folder, f'{i:04d}.jpg'), img)
    with open(osp.join(out_dir, 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    return classes
