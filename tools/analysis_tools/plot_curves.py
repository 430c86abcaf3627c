# Copyright (c) pst-mm contributors. All rights reserved.
r"""Training curves (losses, lr, validation metrics) of a work dir to PNG.

Reads mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` (every run
of the work dir, in time order, so resumed runs continue their curves) and
writes ``losses.png``, ``lr.png`` and ``val.png`` (e.g. coco/bbox_mAP or
accuracy/top1 per epoch).

    python tools/analysis_tools/plot_curves.py work_dirs/pst_demo \
        --out work_dirs/pst_demo/curves
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from collections import defaultdict

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from vis_utils import report_written  # noqa: E402

TRAIN_SKIP = ('step', 'epoch', 'iter', 'time', 'data_time', 'memory',
              'base_lr', 'grad_norm')


def load_scalars(work_dir):
    """Train and val records of every run in ``work_dir``, oldest first."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}: is it the '
            '--work-dir of a training run?')
    train, val = [], []
    for path in files:
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f'{path}:{lineno} is not JSON: {e}') \
                        from None
                (train if 'lr' in rec or 'loss' in rec else val).append(rec)
    return train, val


def plot(work_dir, out_dir):
    train, val = load_scalars(work_dir)
    os.makedirs(out_dir, exist_ok=True)
    written = []

    def save(fig, name):
        path = osp.join(out_dir, name)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)

    series = defaultdict(lambda: ([], []))
    for rec in train:
        for key, value in rec.items():
            if key not in TRAIN_SKIP and isinstance(value, (int, float)):
                series[key][0].append(rec['step'])
                series[key][1].append(value)
    losses = {k: v for k, v in series.items() if 'loss' in k}
    if losses:
        fig, ax = plt.subplots(figsize=(7, 4))
        for key, (x, y) in sorted(losses.items()):
            ax.plot(x, y, label=key, lw=1)
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.legend()
        ax.grid(alpha=.3)
        save(fig, 'losses.png')
    if 'lr' in series:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.plot(*series['lr'], lw=1)
        ax.set_xlabel('iteration')
        ax.set_ylabel('lr')
        ax.grid(alpha=.3)
        save(fig, 'lr.png')
    metrics = defaultdict(lambda: ([], []))
    for rec in val:
        for key, value in rec.items():
            if '/' in key and isinstance(value, (int, float)) and value >= 0:
                metrics[key][0].append(rec['step'])
                metrics[key][1].append(value)
    if metrics:
        fig, ax = plt.subplots(figsize=(7, 4))
        for key, (x, y) in sorted(metrics.items()):
            ax.plot(x, y, marker='o', label=key)
        ax.set_xlabel('epoch (or iteration for iter-based runs)')
        ax.legend(fontsize=7)
        ax.grid(alpha=.3)
        save(fig, 'val.png')
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--out', help='default: <work_dir>/curves')
    args = parser.parse_args()
    report_written(lambda: plot(
        args.work_dir, args.out or osp.join(args.work_dir, 'curves')))


if __name__ == '__main__':
    main()
