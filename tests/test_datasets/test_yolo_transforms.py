# Copyright (c) pst-mm contributors. All rights reserved.
"""The multiplicative HSV augmentation of the YOLO recipe, and the YOLO
configs' training pipelines on real images."""
import os.path as osp

import cv2
import numpy as np
import pytest
from demo_pipelines import demo_input_shapes
from mmengine.config import Config
from mmengine.registry import init_default_scope

import pst_mm  # noqa: F401
from pst_mm.datasets import YOLOHSVRandomAug

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _image(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)


def test_hsv_gains_are_multiplicative():
    t = YOLOHSVRandomAug(0.015, 0.7, 0.4)
    t._draw_gains = lambda: np.array([1.01, 1.5, 0.5])
    img = _image()
    out = t(dict(img=img.copy()))['img']
    # reference: per pixel in float, truncated like a uint8 cast
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.float64)
    hsv[..., 0] = np.floor(hsv[..., 0] * 1.01) % 180
    hsv[..., 1] = np.clip(np.floor(hsv[..., 1] * 1.5), 0, 255)
    hsv[..., 2] = np.clip(np.floor(hsv[..., 2] * 0.5), 0, 255)
    ref = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    np.testing.assert_array_equal(out, ref)
    # a gain scales: black stays black at any value gain (an additive
    # jitter, mmdet's YOLOXHSVRandomAug, would lift it)
    t._draw_gains = lambda: np.array([1.0, 1.0, 1.4])
    black = np.zeros((4, 4, 3), np.uint8)
    assert not t(dict(img=black.copy()))['img'].any()


def test_hsv_gain_ranges_and_identity():
    np.random.seed(0)
    t = YOLOHSVRandomAug(0.015, 0.7, 0.4)
    gains = np.stack([t._draw_gains() for _ in range(2000)])
    lo, hi = gains.min(0), gains.max(0)
    assert (lo >= [0.985, 0.3, 0.6]).all()
    assert (hi <= [1.015, 1.7, 1.4]).all()
    # and the draws fill the ranges
    assert (lo < [0.986, 0.32, 0.62]).all()
    assert (hi > [1.014, 1.68, 1.38]).all()
    img = _image(1)
    # zero gains or prob 0 leave the image untouched
    for t in (YOLOHSVRandomAug(0, 0, 0), YOLOHSVRandomAug(prob=0.0)):
        assert t(dict(img=img))['img'] is img
    with pytest.raises(ValueError, match='saturation_gain'):
        YOLOHSVRandomAug(saturation_gain=1.5)
    with pytest.raises(ValueError, match='uint8 BGR'):
        YOLOHSVRandomAug()(dict(img=img.astype(np.float32)))


def test_yolo_recipe_pipelines_run_on_real_images(demo_det_root):
    """Mosaic / copy-paste / perspective / mixup / HSV of yolo11-pst-s
    (MixUp on), and its close-mosaic stage, at 640x640 on the demo
    photographs."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/yolo_pst/yolo11-pst-s_8xb16-600e_coco.py'))
    init_default_scope('mmdet')
    stage2 = next(h for h in cfg.custom_hooks
                  if h.type == 'PipelineSwitchHook').switch_pipeline
    for pipeline in (cfg.train_dataloader.dataset.pipeline, stage2):
        shapes = demo_input_shapes(demo_det_root, pipeline, 6)
        # the first mosaic tiles may come from a cache of one image
        assert all(s == (3, 640, 640) for s in shapes[4:]), shapes
        if pipeline is stage2:
            assert all(s == (3, 640, 640) for s in shapes), shapes
