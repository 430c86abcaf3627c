# Copyright (c) pst-mm contributors. All rights reserved.
"""Draw what a config's training pipeline feeds the model, ground truth on
the augmented image (as mmdet's tools/analysis_tools/browse_dataset.py).

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR
        --not-show [--num 20] [--cfg-options ...]

For the YOLO configs this shows the mosaic, mix-up, copy-paste and
perspective steps as training sees them. Works for mmdet detection configs
(boxes, masks) and mmpretrain classification configs (the label). CONFIG is
a path or a pst-mm config name. Images are written as
``<index>_<image file name>``, so repeated images do not overwrite.
"""
import argparse
import os.path as osp
import sys
import warnings

# mmengine imports setuptools' deprecated pkg_resources, which warns in
# every process: known and harmless (requirements pin setuptools < 81).
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

from mmengine.config import Config  # noqa: E402
from mmengine.registry import (DATASETS, VISUALIZERS,  # noqa: E402
                               init_default_scope)
from mmengine.utils import ProgressBar, mkdir_or_exist  # noqa: E402

import pst_mm  # noqa: E402,F401  (registers our transforms)
from pst_mm.utils.config_lookup import find_config  # noqa: E402
from pst_mm.utils.data_check import check_data_paths  # noqa: E402
from pst_mm.utils.launch import add_cfg_options_arg  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Browse a dataset')
    parser.add_argument('config', help='train config file path or name')
    parser.add_argument(
        '--output-dir',
        default=None,
        type=str,
        help='write the drawn images here (e.g. without a display)')
    parser.add_argument(
        '--not-show', default=False, action='store_true',
        help='do not open a window per image')
    parser.add_argument(
        '--show-interval',
        type=float,
        default=2,
        help='seconds each image is shown')
    parser.add_argument(
        '--num',
        type=int,
        default=None,
        help='stop after this many images; defaults to the whole dataset')
    add_cfg_options_arg(parser,
                        'train_dataloader.dataset.data_root=data/coco/')
    return parser.parse_args()


def _draw_det(visualizer, item: dict, name: str, args, out_file) -> None:
    """Draw an mmdet sample's ground truth (boxes, masks) as mmdet does."""
    from mmdet.models.utils import mask2ndarray
    from mmdet.structures.bbox import BaseBoxes
    img = item['inputs'].permute(1, 2, 0).numpy()[..., [2, 1, 0]]  # to RGB
    data_sample = item['data_samples'].numpy()
    gt_instances = data_sample.gt_instances
    gt_bboxes = gt_instances.get('bboxes', None)
    if gt_bboxes is not None and isinstance(gt_bboxes, BaseBoxes):
        gt_instances.bboxes = gt_bboxes.tensor
    gt_masks = gt_instances.get('masks', None)
    if gt_masks is not None:
        gt_instances.masks = mask2ndarray(gt_masks).astype(bool)
    data_sample.gt_instances = gt_instances
    visualizer.add_datasample(
        name,
        img,
        data_sample,
        draw_pred=False,
        show=not args.not_show,
        wait_time=args.show_interval,
        out_file=out_file)


def _draw_cls(visualizer, item: dict, name: str, args, out_file) -> None:
    """Draw an mmpretrain sample's ground-truth label."""
    img = item['inputs'].permute(1, 2, 0).numpy()[..., [2, 1, 0]]  # to RGB
    visualizer.visualize_cls(
        img,
        item['data_samples'],
        draw_pred=False,
        show=not args.not_show,
        wait_time=args.show_interval,
        out_file=out_file,
        name=name)


def main():
    args = parse_args()
    try:
        if args.num is not None and args.num < 1:
            raise ValueError(f'--num must be >= 1, got {args.num}')
        if args.not_show and args.output_dir is None:
            raise ValueError('--not-show without --output-dir would draw '
                             'nothing anywhere; give --output-dir')
        cfg = Config.fromfile(find_config(args.config))
        if args.cfg_options is not None:
            cfg.merge_from_dict(args.cfg_options)
        check_data_paths(cfg, loaders=('train_dataloader', ))
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'tools/analysis_tools/browse_dataset.py: {err}')
    scope = cfg.get('default_scope', 'mmdet')
    init_default_scope(scope)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    # mmpretrain's visualizer config names no instance, mmdet's does
    cfg.visualizer.setdefault('name', 'browse_dataset')
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    draw = _draw_det if scope == 'mmdet' else _draw_cls
    if args.output_dir is not None:
        mkdir_or_exist(args.output_dir)

    num = len(dataset) if args.num is None else min(args.num, len(dataset))
    progress_bar = ProgressBar(num)
    for i in range(num):
        item = dataset[i]
        # the first image of a mosaic or mix-up names it
        name = f'{i:06d}_{osp.basename(item["data_samples"].img_path)}'
        out_file = osp.join(args.output_dir,
                            name) if args.output_dir is not None else None
        draw(visualizer, item, name, args, out_file)
        progress_bar.update()


if __name__ == '__main__':
    main()
