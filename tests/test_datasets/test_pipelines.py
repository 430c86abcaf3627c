# Copyright (c) pst-mm contributors. All rights reserved.
import os.path as osp
import random

import numpy as np
import pytest
import torch
from demo_pipelines import demo_input_shapes
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.config import Config
from mmengine.registry import init_default_scope

import pst_mm  # noqa: F401
from pst_mm.datasets import CachedCopyPaste

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _results(value, box):
    img = np.full((32, 32, 3), value, dtype=np.uint8)
    return dict(
        img=img,
        img_shape=(32, 32),
        gt_bboxes=HorizontalBoxes(torch.tensor([box], dtype=torch.float32)),
        gt_bboxes_labels=np.array([value % 7], dtype=np.int64),
        gt_ignore_flags=np.array([False]))


def test_cached_copy_paste_pastes_from_cache():
    random.seed(0)
    np.random.seed(1)
    t = CachedCopyPaste(prob=1.0, max_cached_images=4, selected=False)
    first = t(_results(10, [0, 0, 8, 8]))
    assert len(first['gt_bboxes']) == 1  # nothing cached yet
    out = t(_results(200, [16, 16, 30, 30]))
    assert out['img'].dtype == np.uint8
    assert 'gt_masks' not in out and 'mix_results' not in out
    # The source object (value 10, box 0..8) was pasted onto image 2.
    assert len(out['gt_bboxes']) == 2
    assert (out['img'][:8, :8] == 10).all()
    assert (out['img'][20:28, 20:28] == 200).all()
    assert sorted(out['gt_bboxes_labels'].tolist()) == [3, 4]


def test_cached_copy_paste_prob_zero_and_bad_args():
    t = CachedCopyPaste(prob=0.0)
    t(_results(10, [0, 0, 8, 8]))
    out = t(_results(200, [16, 16, 30, 30]))
    assert len(out['gt_bboxes']) == 1
    with pytest.raises(ValueError, match='prob'):
        CachedCopyPaste(prob=1.5)
    with pytest.raises(ValueError, match='max_cached_images'):
        CachedCopyPaste(max_cached_images=1)


def test_paper_recipe_pipeline_runs_on_real_images(demo_det_root):
    """The 640x640 Mosaic/Affine/CopyPaste/MixUp/HSV pipeline of the paper
    recipe, on the demo photographs, and its stage-2 pipeline."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/pst_det/rtmdet_r101_pst-s_8xb32-600e_coco.py'))
    init_default_scope('mmdet')
    stage2 = [h for h in cfg.custom_hooks
              if h.type == 'PipelineSwitchHook'][0]
    assert stage2.switch_epoch == 590
    for pipeline in (cfg.train_dataloader.dataset.pipeline,
                     stage2.switch_pipeline):
        shapes = demo_input_shapes(demo_det_root, pipeline, 8)
        # CachedMosaic passes the first 4 images through while its cache
        # fills (mmdet behaviour); from then on every sample is 640x640.
        assert all(s == (3, 640, 640) for s in shapes[4:]), shapes
        if pipeline is stage2.switch_pipeline:
            assert all(s == (3, 640, 640) for s in shapes), shapes
