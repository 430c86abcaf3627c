# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/train.py, tools/test.py and dist_train.sh with mmpretrain configs,
end to end on the tiny demo classification set."""
import json
import os.path as osp
import sys

import torch

from conftest import free_port, run_tool

PST_CFG = 'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py'
GAP_CFG = 'configs/demo/resnet18_gap_1xb16-30e_pst-demo.py'
FAST = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1']


def _ckpt_meta(path):
    import pst_mm  # noqa: F401
    meta = torch.load(path, map_location='cpu', weights_only=True)['meta']
    return meta['epoch'], meta['iter']


def test_train_and_test_pst_classifier(demo_cls_root, tmp_path):
    env = dict(PST_DEMO_CLS_ROOT=demo_cls_root)
    proc = run_tool(['tools/train.py', PST_CFG, '--work-dir', str(tmp_path),
                     '--cfg-options'] + FAST, env=env)
    # 6 classes x 8 images, batch 16: 3 iterations.
    assert _ckpt_meta(str(tmp_path / 'epoch_1.pth')) == (1, 3)
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    for topk in ('0', '8'):
        proc = run_tool(['tools/test.py', PST_CFG,
                         str(tmp_path / 'epoch_1.pth'), '--work-dir',
                         str(tmp_path), '--cfg-options',
                         f'model.neck.pst_cfg.topk={topk}'] + FAST, env=env)
        line = [x for x in proc.stdout.splitlines()
                if x.startswith('[pst-mm] test metrics: ')][-1]
        metrics = json.loads(line.split(': ', 1)[1])
        assert 0.0 <= metrics['accuracy/top1'] <= 100.0


def test_train_gap_baseline(demo_cls_root, tmp_path):
    run_tool(['tools/train.py', GAP_CFG, '--work-dir', str(tmp_path),
              '--no-validate', '--cfg-options'] + FAST,
             env=dict(PST_DEMO_CLS_ROOT=demo_cls_root))
    assert osp.isfile(tmp_path / 'epoch_1.pth')


def test_dist_train_classifier_two_processes(demo_cls_root, tmp_path):
    env = dict(PST_DEMO_CLS_ROOT=demo_cls_root, PORT=free_port(),
               PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = run_tool(['bash', 'tools/dist_train.sh', PST_CFG, '2',
                     '--work-dir', str(tmp_path), '--cfg-options'] + FAST,
                    env=env)
    log = proc.stdout + proc.stderr
    assert 'gloo process group (rank 1/2)' in log
    # 48 images over 2 processes x batch 16: 2 iterations (last one short).
    assert _ckpt_meta(str(tmp_path / 'epoch_1.pth')) == (1, 2)
    assert 'accuracy/top1' in log
