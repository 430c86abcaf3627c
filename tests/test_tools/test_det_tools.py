# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/train.py, tools/test.py, dist_train.sh, --resume, --test-dev and the
submission packer, end to end on the tiny demo detection set."""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
import zipfile

import pytest
import torch

from conftest import REPO, free_port, run_tool

PST_CFG = 'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py'
FPN_CFG = 'configs/demo/retinanet_r18_fpn_1xb8-24e_pst-demo.py'
# 16 training images, batch 8: 2 iterations per epoch.
FAST = ['train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False',
        'default_hooks.logger.interval=1',
        # a 2-iteration model scores below mmdet's 0.05: keep every box so
        # that COCO evaluation has something to evaluate
        'model.test_cfg.score_thr=0.0']


def _metrics(proc):
    lines = [
        line for line in proc.stdout.splitlines()
        if line.startswith('[pst-mm] test metrics: ')
    ]
    assert lines, proc.stdout[-3000:]
    return json.loads(lines[-1].split(': ', 1)[1])


def _ckpt_iter(path):
    import pst_mm  # noqa: F401  (allowlists mmengine checkpoint types)
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    return ckpt['meta']['epoch'], ckpt['meta']['iter']


@pytest.fixture(scope='module')
def trained_pst(demo_det_root, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('pst_train'))
    proc = run_tool(
        ['tools/train.py', PST_CFG, '--work-dir', work, '--cfg-options',
         'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'] + FAST,
        env=dict(PST_DEMO_DET_ROOT=demo_det_root))
    return work, proc


def test_train_pst_runs_and_validates(trained_pst):
    work, proc = trained_pst
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    assert _ckpt_iter(osp.join(work, 'epoch_1.pth')) == (1, 2)
    log = proc.stdout + proc.stderr
    assert 'coco/bbox_mAP' in log
    assert 'Epoch(train) [1][2/2]' in log


def test_train_fpn_baseline(demo_det_root, tmp_path):
    run_tool(['tools/train.py', FPN_CFG, '--work-dir', str(tmp_path),
              '--no-validate', '--cfg-options', 'train_cfg.max_epochs=1'] +
             FAST, env=dict(PST_DEMO_DET_ROOT=demo_det_root))
    assert _ckpt_iter(str(tmp_path / 'epoch_1.pth')) == (1, 2)


def test_test_py_evaluates_with_fine_attention_switch(trained_pst,
                                                      demo_det_root):
    work, _ = trained_pst
    ckpt = osp.join(work, 'epoch_1.pth')
    env = dict(PST_DEMO_DET_ROOT=demo_det_root)
    for topk in ('0', '8'):
        out = osp.join(work, f'preds_topk{topk}.pkl')
        proc = run_tool(['tools/test.py', PST_CFG, ckpt, '--work-dir', work,
                         '--out', out, '--cfg-options',
                         f'model.neck.pst_cfg.topk={topk}'] + FAST,
                        env=env)
        metrics = _metrics(proc)
        assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
        import pickle
        with open(out, 'rb') as f:
            preds = pickle.load(f)
        assert len(preds) == 8  # one entry per val image
        assert preds[0]['pred_instances']['bboxes'].shape[-1] == 4


def test_test_dev_format_and_pack(trained_pst, demo_det_root, tmp_path):
    work, _ = trained_pst
    prefix = str(tmp_path / 'pst')
    run_tool(['tools/test.py', PST_CFG, osp.join(work, 'epoch_1.pth'),
              '--work-dir', work, '--test-dev', '--test-dev-ann',
              'annotations/image_info_test.json', '--test-dev-img', 'val/',
              '--outfile-prefix', prefix, '--cfg-options'] + FAST,
             env=dict(PST_DEMO_DET_ROOT=demo_det_root))
    result = prefix + '.bbox.json'
    dets = json.load(open(result))
    assert dets and {'image_id', 'category_id', 'bbox', 'score'} <= set(
        dets[0])
    info = osp.join(demo_det_root, 'annotations', 'image_info_test.json')
    proc = run_tool(['tools/misc/pack_coco_test_dev.py', result,
                     '--image-info', info, '--method', 'pst-demo',
                     '--out-dir', str(tmp_path)])
    zip_path = tmp_path / 'detections_test-dev2017_pst-demo_results.zip'
    assert str(zip_path) in proc.stdout
    with zipfile.ZipFile(zip_path) as zf:
        assert zf.namelist() == [
            'detections_test-dev2017_pst-demo_results.json'
        ]
        assert json.loads(zf.read(zf.namelist()[0])) == dets
    # Never overwritten without asking.
    again = run_tool(['tools/misc/pack_coco_test_dev.py', result,
                      '--image-info', info, '--method', 'pst-demo',
                      '--out-dir', str(tmp_path)], check=False)
    assert again.returncode == 1 and '--overwrite' in again.stderr


def test_dist_train_two_processes_on_cpu(demo_det_root, tmp_path):
    env = dict(PST_DEMO_DET_ROOT=demo_det_root, PORT=free_port(),
               PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = run_tool(['bash', 'tools/dist_train.sh', PST_CFG, '2',
                     '--work-dir', str(tmp_path), '--cfg-options',
                     'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'] +
                    FAST, env=env)
    log = proc.stdout + proc.stderr
    assert 'gloo process group (rank 0/2)' in log
    assert 'gloo process group (rank 1/2)' in log
    # 16 images over 2 processes x batch 8: one iteration per epoch.
    assert _ckpt_iter(str(tmp_path / 'epoch_1.pth')) == (1, 1)
    assert 'coco/bbox_mAP' in log


def test_interrupted_run_resumes_to_the_same_iteration(demo_det_root,
                                                       tmp_path):
    work = str(tmp_path)
    args = ['tools/train.py', PST_CFG, '--work-dir', work, '--no-validate',
            '--cfg-options', 'train_cfg.max_epochs=4',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=5'] + FAST
    env = dict(os.environ, PST_DEMO_DET_ROOT=demo_det_root)
    proc = subprocess.Popen([sys.executable] + args, cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    try:
        # mmengine writes `last_checkpoint` once a checkpoint is complete.
        while not osp.exists(osp.join(work, 'last_checkpoint')):
            assert proc.poll() is None, 'training ended before epoch 1'
            assert time.time() < deadline, 'no checkpoint after 300 s'
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not osp.exists(osp.join(work, 'epoch_4.pth')), \
        'the run was not interrupted'
    resume = args[:4] + ['--resume'] + args[4:]
    proc = run_tool(resume, env=dict(PST_DEMO_DET_ROOT=demo_det_root))
    log = proc.stdout + proc.stderr
    resumed = re.search(r'resumed epoch: (\d+), iter: (\d+)', log)
    assert resumed, log[-3000:]
    epoch, it = int(resumed.group(1)), int(resumed.group(2))
    assert 1 <= epoch < 4 and it == 2 * epoch
    # Ends exactly where an uninterrupted run ends: 4 epochs x 2 iterations.
    assert _ckpt_iter(osp.join(work, 'epoch_4.pth')) == (4, 8)


def test_dist_test_two_processes_on_cpu(trained_pst, demo_det_root):
    work, _ = trained_pst
    env = dict(PST_DEMO_DET_ROOT=demo_det_root, PORT=free_port(),
               PYTHON=sys.executable, OMP_NUM_THREADS='1')
    proc = run_tool(['bash', 'tools/dist_test.sh', PST_CFG,
                     osp.join(work, 'epoch_1.pth'), '2', '--work-dir', work,
                     '--cfg-options'] + FAST, env=env)
    assert 'gloo process group (rank 1/2)' in proc.stdout + proc.stderr
    assert 0.0 <= _metrics(proc)['coco/bbox_mAP'] <= 1.0


FAKE_SRUN = r'''#!/usr/bin/env bash
# Stand-in for Slurm's srun: checks the options slurm_*.sh pass and starts
# --ntasks local processes with the variables Slurm sets.
set -euo pipefail
ntasks=1
while [[ $1 == -* ]]; do
  case $1 in
    --ntasks=*) ntasks=${1#--ntasks=} ;;
    -p) shift ;;
  esac
  shift
done
echo "fake srun: $ntasks tasks: $*"
pids=()
for ((i = 0; i < ntasks; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$ntasks \
    SLURM_NODELIST=localhost "$@" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
'''


def test_slurm_train_launches_tasks(demo_det_root, tmp_path):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    srun = bindir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    work = tmp_path / 'work'
    env = dict(PST_DEMO_DET_ROOT=demo_det_root, PYTHON=sys.executable,
               PATH=f'{bindir}:{os.environ["PATH"]}', GPUS='2',
               MASTER_ADDR='127.0.0.1', MASTER_PORT=free_port(),
               OMP_NUM_THREADS='1')
    proc = run_tool(['bash', 'tools/slurm_train.sh', 'debug', 'pst', PST_CFG,
                     str(work), '--no-validate', '--cfg-options',
                     'train_cfg.max_epochs=1'] + FAST, env=env)
    log = proc.stdout + proc.stderr
    assert 'fake srun: 2 tasks' in log
    assert 'gloo process group (rank 1/2)' in log
    assert _ckpt_iter(str(work / 'epoch_1.pth')) == (1, 1)
