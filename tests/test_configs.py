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


# Every config in configs/ (bases excluded), by folder: a config added,
# removed or renamed must be listed here (and in the rename table of the
# docs when renamed).
EXPECTED = {
    'baselines': [
        'retinanet_r101_a2-fpn-lite_1x_coco.py',
        'retinanet_r101_a2-fpn_1x_coco.py',
        'retinanet_r101_ac-fpn_1x_coco.py',
        'retinanet_r101_afpn_1x_coco.py',
        'retinanet_r101_sa-fpn_1x_coco.py',
        'retinanet_r50_a2-fpn-lite_1x_coco.py',
        'retinanet_r50_a2-fpn_1x_coco.py',
        'retinanet_r50_ac-fpn_1x_coco.py',
        'retinanet_r50_afpn_1x_coco.py',
        'retinanet_r50_sa-fpn_1x_coco.py',
    ],
    'demo': [
        'resnet18_gap_1xb16-30e_pst-demo.py',
        'resnet18_pst-n_1xb16-30e_pst-demo.py',
        'retinanet_r18_fpn_1xb4-300i_heldout.py',
        'retinanet_r18_fpn_1xb8-24e_pst-demo.py',
        'retinanet_r18_pst-n_1xb4-300i_heldout.py',
        'retinanet_r18_pst-n_1xb8-24e_pst-demo.py',
        'retinanet_spt-tiny_fpn_1xb8-12e_pst-demo.py',
        'retinanet_swin-tiny_fpn_1xb8-12e_pst-demo.py',
        'yolo11-n_1xb16-20e_ultralytics-recipe_pst-demo.py',
        'yolo11-pst-n_1xb8-30e_pst-demo.py',
    ],
    'pst_cls': [
        'bottleneck-r101_8xb32-200e_in1k.py',
        'bottleneck-r101_pst-s_8xb32-200e_in1k.py',
        'bottleneck-r18_8xb32-200e_in1k.py',
        'bottleneck-r18_pst-n_8xb32-200e_in1k.py',
        'bottleneck-r50_8xb32-200e_in1k.py',
        'bottleneck-r50_pst-n_8xb32-200e_in1k.py',
        'resnet101_gap_8xb32-200e_in1k.py',
        'resnet101_pst-s_8xb32-100e_in1k.py',
        'resnet101_pst-s_8xb32-200e_in1k.py',
        'resnet18_gap_8xb32-200e_in1k.py',
        'resnet18_pst-n_8xb32-100e_in1k.py',
        'resnet18_pst-n_8xb32-200e_in1k.py',
        'resnet50_gap_8xb32-200e_in1k.py',
        'resnet50_pst-n_8xb32-100e_in1k.py',
        'resnet50_pst-n_8xb32-200e_in1k.py',
    ],
    'pst_det': [
        'retinanet_r101_fpn_1x_coco.py',
        'retinanet_r101_pst-s_1x_coco.py',
        'retinanet_r18_fpn_1x_coco.py',
        'retinanet_r18_pst-n_1x_coco.py',
        'retinanet_r50_fpn_1x_coco.py',
        'retinanet_r50_pst-n_1x_coco.py',
        'rtmdet_r101_pst-s_8xb32-600e_coco.py',
        'rtmdet_r18_pst-n_8xb32-600e_coco.py',
        'rtmdet_r50_pst-n_8xb32-600e_coco.py',
    ],
    'spt': [
        'cascade-mask-rcnn_spt-b-p4-w7_fpn_ms-3x_coco.py',
        'cascade-mask-rcnn_swin-b-p4-w7_fpn_ms-3x_coco.py',
        'faster-rcnn_spt-s-p4-w7_fpn_ms-crop-3x_bdd100k.py',
        'faster-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_bdd100k-s.py',
        'faster-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_bdd100k.py',
        'faster-rcnn_spt-t12-p4-w7_fpn_ms-crop-3x_bdd100k.py',
        'faster-rcnn_swin-s-p4-w7_fpn_ms-crop-3x_bdd100k.py',
        'faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k-s.py',
        'faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py',
        'mask-rcnn_spt-s-p4-w7_fpn_amp-ms-crop-3x_coco.py',
        'mask-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_coco.py',
        'mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py',
        'mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py',
        'spt-t-p4-w7_1xb16-20e_voc12-s-448px.py',
        'swin-t-p4-w7_1xb16-20e_voc12-s-448px.py',
    ],
    'yolo_pst': [
        'yolo11-a2c2f-m_8xb16-600e_coco.py',
        'yolo11-a2c2f-n_8xb16-600e_coco.py',
        'yolo11-a2c2f-s_8xb16-600e_coco.py',
        'yolo11-l_8xb16-600e_coco.py',
        'yolo11-m_8xb16-600e_coco.py',
        'yolo11-n_8xb16-600e_coco.py',
        'yolo11-pst-m_8xb16-600e_coco.py',
        'yolo11-pst-n_8xb16-600e_coco.py',
        'yolo11-pst-n_8xb32-600e_paper-text_coco.py',
        'yolo11-pst-s_8xb16-600e_coco.py',
        'yolo11-s_8xb16-600e_coco.py',
        'yolo11-x_8xb16-600e_coco.py',
        'yolo_r101_pst-s_8xb16-600e_coco.py',
        'yolo_r18_pst-n_8xb16-600e_coco.py',
        'yolo_r50_pst-n_8xb16-600e_coco.py',
    ],
}


def test_configs_found():
    expected = sorted(f'configs/{folder}/{name}'
                      for folder, names in EXPECTED.items() for name in names)
    assert len(expected) == 74
    assert CONFIGS == expected


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


# (PST row, its baseline): the two resolved configs differ only in
# `model.neck`.
NECK_TWINS = [
    ('configs/pst_det/retinanet_r18_pst-n_1x_coco.py',
     'configs/pst_det/retinanet_r18_fpn_1x_coco.py'),
    ('configs/pst_det/retinanet_r50_pst-n_1x_coco.py',
     'configs/pst_det/retinanet_r50_fpn_1x_coco.py'),
    ('configs/pst_det/retinanet_r101_pst-s_1x_coco.py',
     'configs/pst_det/retinanet_r101_fpn_1x_coco.py'),
    ('configs/pst_cls/resnet18_pst-n_8xb32-200e_in1k.py',
     'configs/pst_cls/resnet18_gap_8xb32-200e_in1k.py'),
    ('configs/pst_cls/resnet50_pst-n_8xb32-200e_in1k.py',
     'configs/pst_cls/resnet50_gap_8xb32-200e_in1k.py'),
    ('configs/pst_cls/resnet101_pst-s_8xb32-200e_in1k.py',
     'configs/pst_cls/resnet101_gap_8xb32-200e_in1k.py'),
    ('configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py',
     'configs/demo/resnet18_gap_1xb16-30e_pst-demo.py'),
    ('configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py',
     'configs/demo/retinanet_r18_fpn_1xb8-24e_pst-demo.py'),
    ('configs/demo/retinanet_r18_pst-n_1xb4-300i_heldout.py',
     'configs/demo/retinanet_r18_fpn_1xb4-300i_heldout.py'),
    ('configs/yolo_pst/yolo11-pst-n_8xb16-600e_coco.py',
     'configs/yolo_pst/yolo11-a2c2f-n_8xb16-600e_coco.py'),
    ('configs/yolo_pst/yolo11-pst-s_8xb16-600e_coco.py',
     'configs/yolo_pst/yolo11-a2c2f-s_8xb16-600e_coco.py'),
    ('configs/yolo_pst/yolo11-pst-m_8xb16-600e_coco.py',
     'configs/yolo_pst/yolo11-a2c2f-m_8xb16-600e_coco.py'),
]
# The paper's Table 3 rows: the baseline has no neck, so the head reads C5
# (2048 channels) instead of the PST's output (256 for N, 512 for S).
PAPER_CLS_TWINS = [
    ('configs/pst_cls/bottleneck-r18_pst-n_8xb32-200e_in1k.py',
     'configs/pst_cls/bottleneck-r18_8xb32-200e_in1k.py', 256),
    ('configs/pst_cls/bottleneck-r50_pst-n_8xb32-200e_in1k.py',
     'configs/pst_cls/bottleneck-r50_8xb32-200e_in1k.py', 256),
    ('configs/pst_cls/bottleneck-r101_pst-s_8xb32-200e_in1k.py',
     'configs/pst_cls/bottleneck-r101_8xb32-200e_in1k.py', 512),
]
# (SPT row, its Swin twin): they differ only in the backbone and in the
# model type (the SPT detector or classifier adds the selection loss).
SPT_TWINS = [
    ('configs/spt/mask-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_coco.py',
     'configs/spt/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py'),
    ('configs/spt/mask-rcnn_spt-s-p4-w7_fpn_amp-ms-crop-3x_coco.py',
     'configs/spt/mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py'),
    ('configs/spt/cascade-mask-rcnn_spt-b-p4-w7_fpn_ms-3x_coco.py',
     'configs/spt/cascade-mask-rcnn_swin-b-p4-w7_fpn_ms-3x_coco.py'),
    ('configs/spt/faster-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_bdd100k.py',
     'configs/spt/faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py'),
    ('configs/spt/faster-rcnn_spt-t12-p4-w7_fpn_ms-crop-3x_bdd100k.py',
     'configs/spt/faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k.py'),
    ('configs/spt/faster-rcnn_spt-s-p4-w7_fpn_ms-crop-3x_bdd100k.py',
     'configs/spt/faster-rcnn_swin-s-p4-w7_fpn_ms-crop-3x_bdd100k.py'),
    ('configs/spt/faster-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_bdd100k-s.py',
     'configs/spt/faster-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_bdd100k-s.py'),
    ('configs/spt/spt-t-p4-w7_1xb16-20e_voc12-s-448px.py',
     'configs/spt/swin-t-p4-w7_1xb16-20e_voc12-s-448px.py'),
    ('configs/demo/retinanet_spt-tiny_fpn_1xb8-12e_pst-demo.py',
     'configs/demo/retinanet_swin-tiny_fpn_1xb8-12e_pst-demo.py'),
]


def _resolved(path):
    return Config.fromfile(osp.join(REPO, path)).to_dict()


@pytest.mark.parametrize('pst,base', NECK_TWINS)
def test_pst_and_baseline_configs_differ_only_in_the_neck(pst, base):
    a, b = _resolved(pst), _resolved(base)
    neck_a, neck_b = a['model'].pop('neck'), b['model'].pop('neck')
    assert neck_a != neck_b
    assert a == b, f'{pst} and {base} differ outside model.neck'


@pytest.mark.parametrize('pst,base,width', PAPER_CLS_TWINS)
def test_paper_cls_rows_differ_only_in_the_neck_and_head_width(
        pst, base, width):
    a, b = _resolved(pst), _resolved(base)
    assert a['model'].pop('neck')['type'] == 'PSTClsNeck'
    assert b['model'].pop('neck') is None
    assert a['model']['head'].pop('in_channels') == width
    assert b['model']['head'].pop('in_channels') == 2048
    assert a == b, f'{pst} and {base} differ outside the neck'


@pytest.mark.parametrize('spt,swin', SPT_TWINS)
def test_spt_and_swin_configs_differ_only_in_the_backbone(spt, swin):
    a, b = _resolved(spt), _resolved(swin)
    if spt.startswith('configs/spt/'):  # the paper's SPT settings
        a.pop('spt_models')  # (the demo sizes its own)
    assert a['model'].pop('type').startswith('SPT')
    assert a['model'].pop('select_loss_weight') == 0.01
    backbones = a['model'].pop('backbone'), b['model'].pop('backbone')
    assert [bb['type'] for bb in backbones] == ['SPT', 'SwinTransformer']
    for cfg, backbone in zip((a, b), backbones):
        # a helper variable of the backbone's, set where the two read the
        # same weights in different formats (mmdet's vs mmpretrain's Swin)
        if 'pretrained' in cfg:
            assert cfg.pop('pretrained') == backbone['init_cfg']['checkpoint']
    b['model'].pop('type')
    assert a == b, f'{spt} and {swin} differ outside the backbone'


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


def _bases(path):
    """The `_base_` files of a config, as written in it (mmengine's own
    parser, without loading the upstream packages' files)."""
    return Config._get_base_files(path)


def _local_chains(path):
    """Every inheritance path from ``path`` as a list of local files, each
    path ending at an upstream (``mmdet::``/``mmpretrain::``) base or at a
    local file without bases."""
    bases = _bases(path)
    if not bases:
        return [[path]]
    chains = []
    for base in bases:
        if '::' in base:
            chains.append([path])
        else:
            full = osp.normpath(osp.join(osp.dirname(path), base))
            chains += [[path] + c for c in _local_chains(full)]
    return chains


@pytest.mark.parametrize('path', CONFIGS)
def test_inheritance_is_at_most_three_local_files_deep(path):
    """MMDetection's and MMPretrain's rule: at most three levels of
    inheritance. Counted here from the leaf down to the first upstream base;
    a local base without bases of its own (configs/_base_/schedules,
    models, datasets) stands beside the upstream bases, as mmdet's
    `_base_/schedules/schedule_1x.py` does, and ends a path uncounted."""
    primitive = osp.join(REPO, 'configs', '_base_') + osp.sep
    for chain in _local_chains(osp.join(REPO, path)):
        if not _bases(chain[-1]):
            assert chain[-1].startswith(primitive), chain
            assert osp.dirname(chain[-1]) != primitive[:-1], chain
            chain = chain[:-1]
        assert len(chain) <= 3, [osp.relpath(p, REPO) for p in chain]


@pytest.mark.parametrize('depth', [18, 50, 101])
def test_rtmdet_rows_scale_losses_to_the_yolo_schedule(depth):
    """The shared YOLO schedule (lr 0.01, clip 10) expects losses multiplied
    by the per-GPU batch, as the YOLO head's; mmdet's RTMDet head averages,
    so its loss weights carry the batch (QFL 1.0 and GIoU 2.0 upstream)."""
    name = glob.glob(
        osp.join(REPO, 'configs', 'pst_det', f'rtmdet_r{depth}_pst-*.py'))
    assert len(name) == 1, name
    cfg = Config.fromfile(name[0])
    batch = cfg.train_dataloader.batch_size
    assert batch == cfg.optim_wrapper.batch_size_per_gpu == 32
    assert cfg.model.bbox_head.loss_cls.loss_weight == 1.0 * batch
    assert cfg.model.bbox_head.loss_bbox.loss_weight == 2.0 * batch
    assert cfg.optim_wrapper.type == 'YOLOAmpOptimWrapper'
