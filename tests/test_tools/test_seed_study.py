# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/analysis_tools/seed_study.py end to end on the tiny demo
classification set: seeds, per-config variants, the table, and resuming."""
import json

from conftest import run_tool

PST_CFG = 'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py'
GAP_CFG = 'configs/demo/resnet18_gap_1xb16-30e_pst-demo.py'
FAST = ['train_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False']


def test_seed_study_trains_evaluates_and_tabulates(demo_cls_root, tmp_path):
    env = dict(PST_DEMO_CLS_ROOT=demo_cls_root)
    args = ['tools/analysis_tools/seed_study.py', GAP_CFG, PST_CFG,
            '--seeds', '0', '1', '--epochs', '1', '--work-dir',
            str(tmp_path), '--variant', 'default', '--variant', 'coarse',
            'model.neck.pst_cfg.topk=0', '--cfg-options', *FAST]
    out = run_tool(args, env=env).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith('|')]
    assert lines[0] == ('| config | data | test setting | seed 0 | seed 1 | '
                        'mean | std | min | range | no det |')
    rows = {tuple(c.strip() for c in ln.split('|')[1:4:2]): ln
            for ln in lines[2:]}
    assert all(ln.split('|')[2].strip() == 'own' for ln in lines[2:])
    # the topk variant does not apply to the GAP baseline (no such option)
    assert set(rows) == {('resnet18_gap_1xb16-30e_pst-demo', 'default'),
                         ('resnet18_pst-n_1xb16-30e_pst-demo', 'default'),
                         ('resnet18_pst-n_1xb16-30e_pst-demo', 'coarse')}
    cache = json.load(open(tmp_path / 'results.json'))
    assert len(cache) == 6  # 2 seeds x (1 + 2) evaluations
    # the table's cells are the cached metrics
    key = ('resnet18_pst-n_1xb16-30e_pst-demo|s1|coarse '
           'model.neck.pst_cfg.topk=0')
    cells = [c.strip() for c in
             rows[('resnet18_pst-n_1xb16-30e_pst-demo', 'coarse')].split('|')]
    assert cells[5] == f"{cache[key]['accuracy/top1']:.3f}"
    # different seeds trained different models
    run = 'resnet18_pst-n_1xb16-30e_pst-demo_s{}'
    assert (tmp_path / run.format(0) / 'final.pth').read_bytes() != (
        tmp_path / run.format(1) / 'final.pth').read_bytes()
    # a second run resumes from the cache: same table, nothing retrained
    again = run_tool(args, env=env).stdout
    assert [ln for ln in again.splitlines() if ln.startswith('|')] == lines


def test_seed_study_rejects_malformed_variant(tmp_path):
    proc = run_tool(['tools/analysis_tools/seed_study.py', PST_CFG,
                     '--work-dir', str(tmp_path), '--variant', 'x', 'topk'],
                    check=False)
    assert proc.returncode == 2 and 'KEY=VALUE' in proc.stderr


HELDOUT = ['configs/demo/retinanet_r18_fpn_1xb4-300i_heldout.py',
           'configs/demo/retinanet_r18_pst-n_1xb4-300i_heldout.py']


def test_seed_study_data_sets_and_no_detection_runs(tmp_path):
    """--data trains each config on each set (its classes from the
    annotation file); a run that predicts nothing counts as 0 mAP and in
    'no det'. Two iterations cannot lift any score above RetinaNet's 0.05
    test threshold from the 0.01 prior, so every run here is such a run;
    a third variant with threshold 0 does detect."""
    from pst_mm.datasets import build_det_heldout
    sets = []
    for kind in ('shapes', 'faces'):
        build_det_heldout(str(tmp_path / kind), kind, num_train=4,
                          num_val=2)
        sets += ['--data', kind, str(tmp_path / kind)]
    args = [
        'tools/analysis_tools/seed_study.py', *HELDOUT, *sets, '--seeds',
        '0', '--work-dir', str(tmp_path / 'study'), '--variant', 'default',
        '--variant', 'thr0', 'model.test_cfg.score_thr=0.0',
        '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', *FAST,
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    out = run_tool(args, timeout=900).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith('|')]
    assert lines[0] == ('| config | data | test setting | seed 0 | mean | '
                        'std | min | range | no det |')
    rows = [[c.strip() for c in ln.split('|')[1:-1]] for ln in lines[2:]]
    assert [r[:3] for r in rows] == [
        [osp_name(c), d, v] for c in HELDOUT for d in ('shapes', 'faces')
        for v in ('default', 'thr0')
    ]
    for row in rows:
        if row[2] == 'default':
            assert row[3:] == ['none', '0.000', '0.000', '0.000', '0.000',
                               '1']
        else:
            assert row[3] != 'none' and row[-1] == '0'
    # each set's classes reached the model: 4 shapes, 3 faces classes
    ckpt = tmp_path / 'study' / (osp_name(HELDOUT[1]) +
                                 '_faces_s0') / 'final.pth'
    import torch
    sd = torch.load(str(ckpt), map_location='cpu')['state_dict']
    assert sd['bbox_head.retina_cls.weight'].shape[0] == 9 * 3
    ckpt = tmp_path / 'study' / (osp_name(HELDOUT[0]) +
                                 '_shapes_s0') / 'final.pth'
    sd = torch.load(str(ckpt), map_location='cpu')['state_dict']
    assert sd['bbox_head.retina_cls.weight'].shape[0] == 9 * 4


def osp_name(path):
    return path.rsplit('/', 1)[-1][:-3]


def test_seed_study_rejects_unreadable_data(tmp_path):
    proc = run_tool(['tools/analysis_tools/seed_study.py', HELDOUT[0],
                     '--work-dir', str(tmp_path), '--data', 'x',
                     str(tmp_path / 'missing')], check=False)
    assert proc.returncode == 2
    assert 'cannot read the categories of' in proc.stderr
    assert 'instances_train.json' in proc.stderr


def test_seed_study_rejects_data_for_a_classifier_and_bad_names(tmp_path):
    from pst_mm.datasets import build_det_heldout
    build_det_heldout(str(tmp_path / 'set'), 'shapes', num_train=1,
                      num_val=1)
    proc = run_tool(['tools/analysis_tools/seed_study.py', PST_CFG,
                     '--work-dir', str(tmp_path / 'w'), '--data', 'shapes',
                     str(tmp_path / 'set')], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'seed_study: --data shapes: {PST_CFG} is not a detection config '
        f'whose dataloaders hold a CocoDataset directly')
    for name in ('a/b', 'own'):
        proc = run_tool(['tools/analysis_tools/seed_study.py', HELDOUT[0],
                         '--work-dir', str(tmp_path / 'w'), '--data', name,
                         str(tmp_path / 'set')], check=False)
        assert proc.returncode == 2 and '--data names must be' in proc.stderr


def test_results_of_side_by_side_studies_are_all_kept(tmp_path):
    """Two studies in one work dir (one per config, run side by side) each
    add their results to the cache file as it is on disk, not as it was
    when they started."""
    import sys

    from conftest import REPO
    sys.path.insert(0, f'{REPO}/tools/analysis_tools')
    from seed_study import _save_result
    cache = tmp_path / 'results.json'
    _save_result(str(cache), 'a|s0|default', {'coco/bbox_mAP': 0.1})
    # a second process that loaded the (then empty) cache earlier
    _save_result(str(cache), 'b|s0|default', {})
    assert json.load(open(cache)) == {'a|s0|default': {'coco/bbox_mAP': 0.1},
                                      'b|s0|default': {}}
    assert [p.name for p in tmp_path.iterdir()] == ['results.json']
