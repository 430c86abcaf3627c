# Copyright (c) pst-mm contributors. All rights reserved.
"""Every config in configs/ loads, builds, and runs a loss and a predict
forward on small inputs (no pretrained weights)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import pst_mm  # noqa: F401
from pst_mm.utils import build_model_from_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def _few_rois(cfg):
    """R-CNN configs keep their heads but sample and keep few RoIs: a
    random-init Mask R-CNN otherwise runs its mask head on 100 boxes per
    image (tens of GFLOPs on the CPU)."""
    train, test = cfg.model.get('train_cfg'), cfg.model.get('test_cfg')
    if not train or 'rcnn' not in train:
        return
    train.rpn_proposal.update(nms_pre=200, max_per_img=100)
    for rcnn in (train.rcnn if isinstance(train.rcnn, list) else
                 [train.rcnn]):
        rcnn.sampler.num = 16
    test.rpn.update(nms_pre=100, max_per_img=50)
    test.rcnn.max_per_img = 5


def build_model(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    assert cfg.custom_imports == dict(
        imports=['pst_mm'], allow_failed_imports=False)
    _few_rois(cfg)
    return build_model_from_config(cfg)


def _det_inputs(cfg):
    from mmdet.testing import demo_mm_inputs
    if 'bbox_head' in cfg.model:
        num_classes = cfg.model.bbox_head.num_classes
    else:  # two-stage (R-CNN) and cascade heads
        head = cfg.model.roi_head.bbox_head
        num_classes = (head[0] if isinstance(head, list) else head).num_classes
    with_mask = cfg.model.get('roi_head', {}).get('mask_head') is not None
    return demo_mm_inputs(
        2, [(3, 96, 128), (3, 128, 96)], num_items=[3, 1],
        num_classes=num_classes, with_mask=with_mask)


def _cls_inputs(cfg):
    from mmpretrain.structures import DataSample
    num_classes = cfg.model.head.num_classes
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 255, (3, 64, 64), generator=g).byte()
              for _ in range(2)]
    samples = [DataSample().set_gt_label(i % num_classes) for i in range(2)]
    for ds in samples:  # object boxes for SPT's selection loss (VOC)
        ds.set_field(torch.tensor([[4., 8., 30., 40.]]), 'gt_bboxes')
    return dict(inputs=inputs, data_samples=samples)


def test_configs_found():
    assert len(CONFIGS) >= 21, CONFIGS


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds_and_runs(path):
    torch.manual_seed(0)
    cfg, model = build_model(path)
    packed = _det_inputs(cfg) if cfg.default_scope == 'mmdet' \
        else _cls_inputs(cfg)

    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model(**data, mode='loss')
    total = sum(v.sum() for k, v in losses.items()
                if 'loss' in k and torch.is_tensor(v)) + sum(
                    sum(x.sum() for x in v) for k, v in losses.items()
                    if 'loss' in k and isinstance(v, list))
    assert torch.isfinite(total), losses
    total.backward()
    # Every trainable neck parameter is reached by the loss (an unused one
    # would also break DDP without find_unused_parameters).
    no_grad = [n for n, p in model.named_parameters()
               if p.requires_grad and p.grad is None and
               n.startswith('neck.')]
    assert not no_grad, no_grad

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(packed, False)
        preds = model(**data, mode='predict')
    assert len(preds) == 2
    if cfg.default_scope == 'mmdet':
        for pred in preds:
            assert pred.pred_instances.bboxes.shape[-1] == 4
    else:
        for pred in preds:
            assert pred.pred_score.shape == (cfg.model.head.num_classes, )


def test_pst_and_baseline_configs_differ_only_in_the_neck():
    pairs = []
    for pst in CONFIGS:
        for tag in ('_pst-n_', '_pst-s_', '-pst-n_', '-pst-s_'):
            if tag in pst:
                base = pst.replace(tag, '_fpn_' if tag[0] == '_' else '-gap_')
                if osp.exists(osp.join(REPO, base)):
                    pairs.append((pst, base))
    assert len(pairs) >= 8, pairs
    for pst, base in pairs:
        a = Config.fromfile(osp.join(REPO, pst)).to_dict()
        b = Config.fromfile(osp.join(REPO, base)).to_dict()
        a['model'].pop('neck'), b['model'].pop('neck')
        assert a == b, f'{pst} and {base} differ outside model.neck'


def test_baseline_configs_differ_from_fpn_only_in_the_neck():
    """Each attention-FPN baseline row is its FPN row with another neck,
    and the PST-DET row of the same depth exists to compare with."""
    baselines = [p for p in CONFIGS if p.startswith('configs/baselines/')]
    necks = {'A2FPN', 'A2FPNLite', 'AttentionalFPN', 'ACFPN', 'SAFPN'}
    assert len(baselines) == 2 * len(necks), baselines
    seen = set()
    for path in baselines:
        depth = osp.basename(path).split('_')[1]
        fpn = f'configs/pst_det/retinanet_{depth}_fpn_1x_coco.py'
        assert osp.exists(osp.join(REPO, fpn)), fpn
        pst = f'configs/pst_det/retinanet_{depth}_pst-*_1x_coco.py'
        assert glob.glob(osp.join(REPO, pst)), pst
        a = Config.fromfile(osp.join(REPO, path)).to_dict()
        b = Config.fromfile(osp.join(REPO, fpn)).to_dict()
        neck_a, neck_b = a['model'].pop('neck'), b['model'].pop('neck')
        assert a == b, f'{path} and {fpn} differ outside model.neck'
        seen.add((depth, neck_a['type']))
        for key in ('in_channels', 'start_level', 'out_channels',
                    'add_extra_convs', 'num_outs'):
            assert neck_a[key] == neck_b[key], (path, key)
    assert seen == {(d, n) for d in ('r50', 'r101') for n in necks}
