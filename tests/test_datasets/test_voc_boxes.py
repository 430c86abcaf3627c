# Copyright (c) pst-mm contributors. All rights reserved.
"""VOC multi-label samples that carry their boxes (SPT's selection labels,
paper Tables 5 and 7): reading, the small-object filter, the pipeline, and
the classifier's selection loss built from them."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import pst_mm  # noqa: F401
from pst_mm.datasets import VOCWithBoxes, object_ratio

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VOC_SPT = osp.join(REPO, 'configs/spt/spt-t-p4-w7_1xb16-20e_voc12-s-448px.py')


def _xml(w, h, objects):
    objs = ''.join(
        f'<object><name>{n}</name><difficult>{d}</difficult><bndbox>'
        f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
        f'<ymax>{y2}</ymax></bndbox></object>'
        for n, d, (x1, y1, x2, y2) in objects)
    return (f'<annotation><size><width>{w}</width><height>{h}</height>'
            f'<depth>3</depth></size>{objs}</annotation>')


@pytest.fixture
def voc_root(tmp_path):
    """Three 100x80 images: small objects, a difficult one, a big one."""
    for d in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (tmp_path / d).mkdir(parents=True)
    anns = {
        'a': [('cat', 0, (11, 21, 30, 40)), ('dog', 1, (51, 1, 60, 10))],
        'b': [('car', 0, (1, 1, 100, 80))],
        'c': [('person', 0, (41, 41, 50, 60)), ('tree', 0, (1, 1, 9, 9))],
    }
    for stem, objs in anns.items():
        (tmp_path / 'Annotations' / f'{stem}.xml').write_text(
            _xml(100, 80, objs))
        cv2.imwrite(str(tmp_path / 'JPEGImages' / f'{stem}.jpg'),
                    np.full((80, 100, 3), 128, np.uint8))
    (tmp_path / 'ImageSets/Main/train.txt').write_text('a\nb\nc\n')
    return str(tmp_path)


def test_boxes_labels_and_small_object_filter(voc_root):
    ds = VOCWithBoxes(data_root=voc_root, split='train')
    assert len(ds) == 3
    a = ds.get_data_info(0)
    # 0-based x1y1x2y2; the difficult 'dog' is a box (an object to select)
    # but not a positive label; unknown classes ('tree') are skipped
    np.testing.assert_array_equal(
        a['gt_bboxes'], [[10, 20, 30, 40], [50, 0, 60, 10]])
    assert a['gt_label'] == [7] and a['gt_label_difficult'] == [11]
    assert ds.get_data_info(2)['gt_bboxes'].shape == (1, 4)
    assert object_ratio(a['gt_bboxes'], 100, 80) == pytest.approx(500 / 8000)
    small = VOCWithBoxes(
        data_root=voc_root, split='train', max_object_ratio=0.25)
    assert [osp.basename(small.get_data_info(i)['img_path'])
            for i in range(len(small))] == ['a.jpg', 'c.jpg']
    with pytest.raises(ValueError, match='max_object_ratio'):
        VOCWithBoxes(data_root=voc_root, split='train', max_object_ratio=0)


def test_pipeline_moves_boxes_and_feeds_the_selection_loss(voc_root):
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    from pst_mm.utils import build_model_from_config
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(VOC_SPT)
    data = cfg.train_dataloader.dataset
    data.update(data_root=voc_root, max_object_ratio=None)
    data.pipeline[1].scale = 64  # 100x80 -> 64x64
    data.pipeline[2].prob = 1.0  # always flip
    sample = DATASETS.build(data)[0]
    boxes = sample['data_samples'].gt_bboxes
    sx, sy = 64 / 100, 64 / 80
    x1, y1, x2, y2 = 10 * sx, 20 * sy, 30 * sx, 40 * sy
    np.testing.assert_allclose(boxes[0], [64 - x2, y1, 64 - x1, y2],
                               rtol=1e-5)
    # the classifier turns them into selection labels and a loss
    cfg.model.backbone.update(depths=[2, 2, 2, 2], window_size=2,
                              container_len=4)
    _, model = build_model_from_config(cfg)
    model.train()
    batch = model.data_preprocessor(pseudo_collate([sample]), True)
    losses = model(**batch, mode='loss')
    assert losses['loss_select'] > 0 and 'select_ratio_s4' in losses
    assert torch.isfinite(losses['loss'])
