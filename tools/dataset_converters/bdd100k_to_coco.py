# Copyright (c) pst-mm contributors. All rights reserved.
"""BDD100K detection labels to COCO-format annotations (for the SPT BDD100K
configs), optionally keeping only the BDD-S subset.

BDD100K ships one JSON per split: a list of frames
``{"name": "b1c66a42-6f7d68ca.jpg", "labels": [{"category": "car",
"box2d": {"x1":, "y1":, "x2":, "y2":}, ...}, ...]}`` (labels without
``box2d``, e.g. lanes and drivable areas of the 2018 release, are skipped).
The ten detection classes follow the BDD100K detection benchmark; the 2018
names ``person``, ``bike`` and ``motor`` map to ``pedestrian``,
``bicycle`` and ``motorcycle``.

BDD-S (SPT paper Sec. 4.1, after Zhang et al. WACV 2024): images whose
object-to-pixel ratio, the share of pixels covered by the union of the
boxes, is below 25 %: ``--max-object-ratio 0.25``.

    python tools/dataset_converters/bdd100k_to_coco.py \\
        data/bdd100k/labels/det_20/det_train.json \\
        data/bdd100k/annotations/det_train_coco.json
    python tools/dataset_converters/bdd100k_to_coco.py \\
        data/bdd100k/labels/det_20/det_val.json \\
        data/bdd100k/annotations/det_val_coco_bdd-s.json \\
        --max-object-ratio 0.25
"""
import argparse
import json
import os
import os.path as osp
from typing import Dict, List, Optional

from pst_mm.datasets import object_ratio

BDD100K_CLASSES = ('pedestrian', 'rider', 'car', 'truck', 'bus', 'train',
                   'motorcycle', 'bicycle', 'traffic light', 'traffic sign')
ALIASES = {'person': 'pedestrian', 'bike': 'bicycle', 'motor': 'motorcycle'}


def convert(frames: List[Dict],
            width: int = 1280,
            height: int = 720,
            max_object_ratio: Optional[float] = None) -> Dict:
    """COCO dict from BDD100K frames.

    Args:
        frames (list[dict]): BDD100K label JSON contents.
        width (int): Image width (BDD100K: 1280). Defaults to 1280.
        height (int): Image height (BDD100K: 720). Defaults to 720.
        max_object_ratio (float, optional): Keep only images whose
            object-to-pixel ratio is below this (BDD-S: 0.25). Defaults to
            None (keep all).

    Returns:
        dict: ``images``, ``annotations``, ``categories``.
    """
    if max_object_ratio is not None and not 0 < max_object_ratio <= 1:
        raise ValueError('max_object_ratio must be in (0, 1], got '
                         f'{max_object_ratio!r}')
    cat_ids = {name: i + 1 for i, name in enumerate(BDD100K_CLASSES)}
    images, annotations = [], []
    for frame in frames:
        boxes, cats = [], []
        for label in frame.get('labels') or []:
            box = label.get('box2d')
            name = ALIASES.get(label.get('category'), label.get('category'))
            if box is None or name not in cat_ids:
                continue
            x1, y1, x2, y2 = (float(box[k]) for k in ('x1', 'y1', 'x2', 'y2'))
            if x2 <= x1 or y2 <= y1:
                continue
            boxes.append((x1, y1, x2, y2))
            cats.append(cat_ids[name])
        if max_object_ratio is not None and object_ratio(
                boxes, width, height) >= max_object_ratio:
            continue
        img_id = len(images) + 1
        images.append(
            dict(id=img_id, file_name=frame['name'], width=width,
                 height=height))
        for (x1, y1, x2, y2), cat in zip(boxes, cats):
            annotations.append(
                dict(id=len(annotations) + 1, image_id=img_id,
                     category_id=cat, bbox=[x1, y1, x2 - x1, y2 - y1],
                     area=(x2 - x1) * (y2 - y1), iscrowd=0))
    categories = [dict(id=i, name=n) for n, i in cat_ids.items()]
    return dict(images=images, annotations=annotations,
                categories=categories)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('labels', help='BDD100K detection label JSON')
    parser.add_argument('out', help='COCO-format JSON to write')
    parser.add_argument('--max-object-ratio', type=float,
                        help='keep images whose boxes cover less than this '
                        'share of the pixels (BDD-S: 0.25)')
    parser.add_argument('--width', type=int, default=1280)
    parser.add_argument('--height', type=int, default=720)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with open(args.labels) as f:
        frames = json.load(f)
    coco = convert(frames, args.width, args.height, args.max_object_ratio)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(coco, f)
    print(f"{len(frames)} frames -> {len(coco['images'])} images, "
          f"{len(coco['annotations'])} boxes: {args.out}")


if __name__ == '__main__':
    main()
