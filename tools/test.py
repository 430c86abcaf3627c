# Copyright (c) pst-mm contributors. All rights reserved.
"""Test (evaluate) a checkpoint of a detector or classifier config."""
import argparse
import json
import os.path as osp
import sys
import warnings

# mmengine imports setuptools' deprecated pkg_resources, which warns in
# every process: known and harmless (requirements pin setuptools < 81).
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

from mmengine.dist import is_main_process  # noqa: E402

import pst_mm  # noqa: E402,F401  (registers our modules, safe loading)
from pst_mm.utils import build_model_from_config  # noqa: E402
from pst_mm.utils import check_checkpoint_file  # noqa: E402
from pst_mm.utils import check_checkpoint_fits  # noqa: E402
from pst_mm.utils.launch import (COCO_TEST_DEV_ANN, COCO_TEST_DEV_IMG,
                                 add_common_args, build_runner,
                                 finish_distributed, load_config,
                                 to_test_dev)  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the raw predictions to this pickle file')
    parser.add_argument(
        '--test-dev',
        action='store_true',
        help='COCO test-dev: format results for the evaluation server '
        'instead of evaluating (then run tools/misc/pack_coco_test_dev.py)')
    parser.add_argument(
        '--test-dev-ann',
        default=COCO_TEST_DEV_ANN,
        help='test-dev image info, relative to the dataset data_root')
    parser.add_argument(
        '--test-dev-img',
        default=COCO_TEST_DEV_IMG,
        help='test-dev image folder, relative to the dataset data_root')
    parser.add_argument(
        '--outfile-prefix',
        help='test-dev results prefix; defaults to '
        '<work_dir>/<config name>_test-dev')
    add_common_args(parser)
    return parser.parse_args()


def merge_args(cfg, args):
    """Merge the testing-only CLI arguments into the config."""
    ckpt = check_checkpoint_file(args.checkpoint)
    # load_from loads non-strictly and only logs mismatches: refuse a
    # checkpoint of another model (size) before evaluating random layers
    try:
        _, model = build_model_from_config(cfg.copy(), device='meta')
    except (RuntimeError, NotImplementedError):  # a model that needs data
        _, model = build_model_from_config(cfg.copy())
    check_checkpoint_fits(ckpt, args.checkpoint, model)
    cfg.load_from = args.checkpoint
    if args.test_dev:
        prefix = args.outfile_prefix or osp.join(
            cfg.work_dir,
            osp.splitext(osp.basename(args.config))[0] + '_test-dev')
        to_test_dev(cfg, prefix, args.test_dev_ann, args.test_dev_img)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl file, got {args.out}')
        cfg.test_evaluator = list(cfg.test_evaluator) if isinstance(
            cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))
    return cfg


def main():
    args = parse_args()
    try:
        cfg = merge_args(load_config(args), args)
    except (ValueError, FileNotFoundError) as err:
        # a user's mistake (checkpoint, options): one line, no traceback
        sys.exit(f'tools/test.py: {err}')
    runner = build_runner(cfg)
    metrics = runner.test()
    if is_main_process():
        # One machine-readable line for scripts (the Runner logs the rest).
        print('[pst-mm] test metrics: ' + json.dumps(metrics, default=str))
    finish_distributed()


if __name__ == '__main__':
    main()
