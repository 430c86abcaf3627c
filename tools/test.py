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
from pst_mm.utils.data_check import check_data_paths  # noqa: E402
from pst_mm.utils.launch import (COCO_TEST_DEV_ANN,  # noqa: E402
                                 COCO_TEST_DEV_IMG, add_common_args,
                                 build_runner, finish_distributed,
                                 load_config, to_test_dev)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump the predictions to this pickle file (mmdet\'s '
        'DumpDetResults for detection configs, DumpResults otherwise)')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions')
    parser.add_argument(
        '--show-dir',
        help='write the images with their predictions drawn to this '
        'directory (as given; mmdet nests it under work_dir/timestamp)')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='seconds each image is shown with --show')
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
        # mmdet's dumper encodes masks and panoptic maps for offline
        # evaluation (mmdet's tools/analysis_tools read that format)
        dumper = 'mmdet.DumpDetResults' if _is_detection(
            cfg) else 'DumpResults'
        cfg.test_evaluator.append(dict(type=dumper, out_file_path=args.out))
    if args.show or args.show_dir:
        trigger_visualization_hook(cfg, args)
    # load_from loads non-strictly and only logs mismatches: refuse a
    # checkpoint of another model (size) before evaluating random layers;
    # first, as a wrong config is the more basic mistake than missing data
    try:
        _, model = build_model_from_config(cfg.copy(), device='meta')
    except (RuntimeError, NotImplementedError):  # a model that needs data
        _, model = build_model_from_config(cfg.copy())
    check_checkpoint_fits(ckpt, args.checkpoint, model)
    # the data this run reads (the test-dev split with --test-dev), before
    # a missing file ends in a traceback from deep inside the dataset build
    check_data_paths(
        cfg, loaders=('test_dataloader', ), evaluators=('test_evaluator', ))
    cfg.load_from = args.checkpoint
    return cfg


def _is_detection(cfg) -> bool:
    """Whether ``cfg`` is an mmdet config (else mmpretrain)."""
    return cfg.get('default_scope', 'mmdet') == 'mmdet'


def trigger_visualization_hook(cfg, args):
    """Turn on the config's visualization hook for --show / --show-dir.

    As mmdet's and mmpretrain's ``tools/test.py``: mmdet's
    ``DetVisualizationHook`` draws every test image (``draw``,
    ``test_out_dir``), mmpretrain's ``VisualizationHook`` every
    ``interval``-th (``enable``, ``out_dir``; here every image). The
    directory is made absolute, so the images land where the user said
    instead of under ``work_dir/timestamp`` (mmdet's hook joins relative
    paths to that).
    """
    hook = cfg.get('default_hooks', {}).get('visualization', None)
    if hook is None:
        raise ValueError('--show / --show-dir need a visualization hook in '
                         'default_hooks; this config has none')
    out_dir = osp.abspath(args.show_dir) if args.show_dir else None
    if _is_detection(cfg):
        hook.draw = True
        if out_dir:
            hook.test_out_dir = out_dir
    else:
        hook.enable = True
        hook.interval = 1
        hook.out_dir = out_dir
    if args.show:
        hook.show = True
        hook.wait_time = args.wait_time
    return cfg


def main():
    args = parse_args()
    try:
        cfg = merge_args(load_config(args), args)
    except (ValueError, FileNotFoundError) as err:
        # a user's mistake (checkpoint, data, options): one line, no traceback
        sys.exit(f'tools/test.py: {err}')
    runner = build_runner(cfg)
    metrics = runner.test()
    if is_main_process():
        # One machine-readable line for scripts (the Runner logs the rest).
        print('[pst-mm] test metrics: ' + json.dumps(metrics, default=str))
    finish_distributed()


if __name__ == '__main__':
    main()
