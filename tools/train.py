# Copyright (c) pst-mm contributors. All rights reserved.
"""Train a detector (mmdet config) or a classifier (mmpretrain config)."""
import argparse
import sys
import warnings

# mmengine imports setuptools' deprecated pkg_resources, which warns in
# every process: known and harmless (requirements pin setuptools < 81).
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

import pst_mm  # noqa: E402,F401  (registers our modules, safe loading)
from pst_mm.utils import check_checkpoint_file  # noqa: E402
from pst_mm.utils.data_check import check_data_paths  # noqa: E402
from pst_mm.utils.launch import (add_common_args, build_runner,  # noqa: E402
                                 finish_distributed, load_config)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or, without a path, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (ignored, with a log line, on CPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by actual / base batch size')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    add_common_args(parser)
    return parser.parse_args()


def merge_args(cfg, args):
    """Merge the training-only CLI arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        check_checkpoint_file(args.resume)
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr` '
                             '(base_batch_size) in the config')
        cfg.auto_scale_lr.enable = True
    return cfg


def main():
    args = parse_args()
    try:
        cfg = merge_args(load_config(args), args)
        # the data this run reads, before a missing file ends in a
        # traceback from deep inside the dataset build
        validate = cfg.get('val_cfg') is not None and cfg.get(
            'val_dataloader') is not None
        check_data_paths(
            cfg,
            loaders=('train_dataloader', 'val_dataloader')
            if validate else ('train_dataloader', ),
            evaluators=('val_evaluator', ) if validate else ())
    except (ValueError, FileNotFoundError) as err:
        # a user's mistake (config, data, options): one line, no traceback
        sys.exit(f'tools/train.py: {err}')
    runner = build_runner(cfg)
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
