# Copyright (c) pst-mm contributors. All rights reserved.
"""SPT tools end to end on tiny inputs: BDD100K conversion (and BDD-S),
FLOPs beside Swin, SPT vs Swin backbone benchmark, selection overlays."""
import json
import os.path as osp
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))
SPT_DEMO = osp.join(REPO, 'configs/demo/retinanet_spt-tiny_fpn_1xb8-12e_'
                    'pst-demo.py')
SWIN_DEMO = SPT_DEMO.replace('_spt-tiny_', '_swin-tiny_')


def test_bdd100k_to_coco_and_bdd_s(tmp_path):
    import bdd100k_to_coco as conv
    frames = [
        dict(name='a.jpg', labels=[
            dict(category='car', box2d=dict(x1=0, y1=0, x2=10, y2=10)),
            dict(category='person', box2d=dict(x1=5, y1=5, x2=15, y2=10)),
            dict(category='lane', poly2d=[]),  # no box: skipped
            dict(category='car', box2d=dict(x1=3, y1=3, x2=3, y2=9))]),
        dict(name='b.jpg', labels=[
            dict(category='bus', box2d=dict(x1=0, y1=0, x2=20, y2=10))]),
        dict(name='c.jpg', labels=None),
    ]
    labels = tmp_path / 'det.json'
    labels.write_text(json.dumps(frames))
    out = tmp_path / 'coco.json'
    conv.main([str(labels), str(out), '--width', '20', '--height', '10'])
    coco = json.loads(out.read_text())
    assert [i['file_name']
            for i in coco['images']] == ['a.jpg', 'b.jpg', 'c.jpg']
    names = {c['id']: c['name'] for c in coco['categories']}
    assert len(names) == 10
    assert [(names[a['category_id']], a['bbox']) for a in
            coco['annotations']] == [('car', [0., 0., 10., 10.]),
                                     ('pedestrian', [5., 5., 10., 5.]),
                                     ('bus', [0., 0., 20., 10.])]
    # union of boxes: a covers 10x10 + 5x5 of 200 pixels, b all of them
    assert conv.object_ratio([(0, 0, 10, 10), (5, 5, 15, 10)], 20, 10) == \
        pytest.approx(125 / 200)
    conv.main([str(labels), str(out), '--width', '20', '--height', '10',
               '--max-object-ratio', '0.7'])
    coco = json.loads(out.read_text())
    assert [i['file_name'] for i in coco['images']] == ['a.jpg', 'c.jpg']
    assert [a['image_id'] for a in coco['annotations']] == [1, 1]
    with pytest.raises(ValueError, match='max_object_ratio'):
        conv.convert(frames, max_object_ratio=0)


def test_get_flops_reports_spt_beside_swin(capsys):
    import get_flops
    get_flops.main([SPT_DEMO, '--shape', '64', '64'])
    out = capsys.readouterr().out
    assert 'data-dependent' in out and 'same-depth Swin' in out
    stats = get_flops.complexity_of_config(SPT_DEMO, (64, 64))
    swin = get_flops.complexity_of_config(SWIN_DEMO, (64, 64))
    assert set(stats['select_ratios']) == {'select_ratio_s3',
                                           'select_ratio_s4'}
    # the Swin twin built inside the tool is the Swin demo's backbone
    import torch

    from pst_mm.utils import build_model_from_config
    from pst_mm.utils.complexity import count_complexity
    _, model = build_model_from_config(SWIN_DEMO)
    with torch.no_grad():
        dense = count_complexity(model.backbone, (torch.rand(1, 3, 64, 64),
                                                  ))['flops']
    assert stats['dense_backbone_flops'] == dense
    assert stats['attention']['spa'] > 0 and 'spa' not in swin['attention']
    # fewer selected tokens, fewer FLOPs (all gates pushed off)
    off = get_flops.complexity_of_config(
        SPT_DEMO, (64, 64),
        cfg_options={'model.backbone.select_thr': 0.999999})
    assert off['attention']['spa'] == 0
    assert off['modules']['backbone'] < stats['modules']['backbone']


def test_benchmark_spt_vs_swin_backbone(capsys):
    import benchmark
    img = osp.join(REPO, 'tests', 'data', 'color.jpg')
    args = [SPT_DEMO, '--compare', SWIN_DEMO, '--part', 'backbone',
            '--shape', '64', '64', '--warmup', '0', '--repeat', '1']
    if osp.exists(img):
        args += ['--image', img]
    variants = benchmark.build_variants(benchmark.parse_args(args))
    assert [v['name'].endswith('[backbone]')
            for v in variants] == [True, True]
    for v in variants:
        v['fn']()
    from pst_mm.models.backbones import SPT
    assert isinstance(variants[0]['model'].backbone, SPT)


def test_visualize_spt(tmp_path, demo_det_root):
    import glob

    import visualize_spt
    img = sorted(glob.glob(osp.join(demo_det_root, 'val', '*')))[0]
    summary = visualize_spt.visualize(visualize_spt.parse_args(
        [SPT_DEMO, img, '--out', str(tmp_path), '--shape', '64', '96']))
    assert [b['stage'] for b in summary['blocks']] == [3, 3, 3, 3, 4, 4]
    assert [len(b['mask']) for b in summary['blocks']] == [4] * 4 + [2] * 2
    assert [len(b['mask'][0]) for b in summary['blocks']] == [6] * 4 + [3] * 2
    for name in ['selection_sum.png', 'selection_0_s3.png',
                 'selection_5_s4.png', 'selection.json']:
        assert (tmp_path / name).exists(), name
    with pytest.raises(ValueError, match='SPT backbone'):
        visualize_spt.visualize(visualize_spt.parse_args(
            [SWIN_DEMO, img, '--out', str(tmp_path)]))
