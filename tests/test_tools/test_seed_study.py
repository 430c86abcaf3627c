# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/analysis_tools/seed_study.py end to end on the tiny demo
classification set: seeds, per-config variants, the table, and resuming."""
import json

from conftest import run_tool

PST_CFG = 'configs/demo/resnet18-pst-n_1xb16-30e_pst-demo.py'
GAP_CFG = 'configs/demo/resnet18-gap_1xb16-30e_pst-demo.py'
FAST = ['train_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False']


def test_seed_study_trains_evaluates_and_tabulates(demo_cls_root, tmp_path):
    env = dict(PST_DEMO_CLS_ROOT=demo_cls_root)
    args = ['tools/analysis_tools/seed_study.py', GAP_CFG, PST_CFG,
            '--seeds', '0', '1', '--epochs', '1', '--work-dir',
            str(tmp_path), '--variant', 'default', '--variant', 'coarse',
            'model.neck.topk=0', '--cfg-options', *FAST]
    out = run_tool(args, env=env).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith('|')]
    assert lines[0] == ('| config | test setting | seed 0 | seed 1 | mean | '
                        'std | range |')
    rows = {tuple(c.strip() for c in ln.split('|')[1:3]): ln
            for ln in lines[2:]}
    # the topk variant does not apply to the GAP baseline (no such option)
    assert set(rows) == {('resnet18-gap_1xb16-30e_pst-demo', 'default'),
                         ('resnet18-pst-n_1xb16-30e_pst-demo', 'default'),
                         ('resnet18-pst-n_1xb16-30e_pst-demo', 'coarse')}
    cache = json.load(open(tmp_path / 'results.json'))
    assert len(cache) == 6  # 2 seeds x (1 + 2) evaluations
    # the table's cells are the cached metrics
    key = 'resnet18-pst-n_1xb16-30e_pst-demo|s1|coarse model.neck.topk=0'
    cells = [c.strip() for c in
             rows[('resnet18-pst-n_1xb16-30e_pst-demo', 'coarse')].split('|')]
    assert cells[4] == f"{cache[key]['accuracy/top1']:.3f}"
    # different seeds trained different models
    assert (tmp_path / 'resnet18-pst-n_1xb16-30e_pst-demo_s0' / 'final.pth'
            ).read_bytes() != (tmp_path / 'resnet18-pst-n_1xb16-30e_pst-demo_s1'
                               / 'final.pth').read_bytes()
    # a second run resumes from the cache: same table, nothing retrained
    again = run_tool(args, env=env).stdout
    assert [ln for ln in again.splitlines() if ln.startswith('|')] == lines


def test_seed_study_rejects_malformed_variant(tmp_path):
    proc = run_tool(['tools/analysis_tools/seed_study.py', PST_CFG,
                     '--work-dir', str(tmp_path), '--variant', 'x', 'topk'],
                    check=False)
    assert proc.returncode == 2 and 'KEY=VALUE' in proc.stderr
