# Copyright (c) pst-mm contributors. All rights reserved.
"""The held-out detection sets: COCO files that mmdet reads, boxes that
hold what they say, determinism, and the make_demo_data entry."""
import json

import cv2
import numpy as np
import pytest
from conftest import run_tool
from pycocotools.coco import COCO

from pst_mm.datasets import HELDOUT_CLASSES, build_det_heldout


@pytest.mark.parametrize('kind,size', [('faces', (120, 160)),
                                       ('shapes', (128, 128))])
def test_heldout_set_is_valid_coco(tmp_path, kind, size):
    paths = build_det_heldout(str(tmp_path), kind, num_train=6, num_val=3)
    assert sorted(paths) == ['train', 'val']
    for split, num in (('train', 6), ('val', 3)):
        coco = COCO(paths[split])
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())
                ] == list(HELDOUT_CLASSES[kind])
        assert len(coco.getImgIds()) == num
        for img_id in coco.getImgIds():
            info = coco.loadImgs(img_id)[0]
            img = cv2.imread(str(tmp_path / split / info['file_name']))
            assert img.shape == (*size, 3)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            assert len(anns) >= 1
            for a in anns:
                x, y, w, h = a['bbox']
                assert 0 <= x and x + w <= size[1] and 0 <= y \
                    and y + h <= size[0] and w >= 6 and h >= 6
                assert a['area'] == w * h


def test_shapes_boxes_are_tight(tmp_path):
    """Every shape reaches within one pixel of all four sides of its box
    (ellipses are drawn one pixel inside it)."""
    from pst_mm.datasets.heldout_data import _shape_mask
    rng = np.random.default_rng(0)
    for kind in HELDOUT_CLASSES['shapes']:
        for filled in (True, False):
            mask = _shape_mask(kind, 23, 17, rng, filled)
            assert mask.shape == (17, 23)
            assert mask[:2].any() and mask[-2:].any() \
                and mask[:, :2].any() and mask[:, -2:].any(), (kind, filled)


def test_heldout_set_is_deterministic_and_seeded(tmp_path):
    a = build_det_heldout(str(tmp_path / 'a'), 'faces', 3, 1, seed=1)
    b = build_det_heldout(str(tmp_path / 'b'), 'faces', 3, 1, seed=1)
    c = build_det_heldout(str(tmp_path / 'c'), 'faces', 3, 1, seed=2)
    assert json.load(open(a['train'])) == json.load(open(b['train']))
    assert json.load(open(a['train'])) != json.load(open(c['train']))
    assert (tmp_path / 'a/train/0002.jpg').read_bytes() == \
        (tmp_path / 'b/train/0002.jpg').read_bytes()


def test_heldout_set_rejects_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="unknown held-out set 'coco'"):
        build_det_heldout(str(tmp_path), 'coco')


def test_make_demo_data_builds_heldout_sets(tmp_path):
    out = run_tool(['tools/misc/make_demo_data.py', 'shapes',
                    str(tmp_path / 's'), '--num-train', '2', '--num-val',
                    '1']).stdout
    assert 'held-out shapes set written' in out
    assert len(json.load(open(
        tmp_path / 's/annotations/instances_train.json'))['images']) == 2
    proc = run_tool(['tools/misc/make_demo_data.py', 'faces',
                     str(tmp_path / 'f'), '--img-size', '64'], check=False)
    assert proc.returncode == 2 and '--img-size does not apply' in \
        proc.stderr
