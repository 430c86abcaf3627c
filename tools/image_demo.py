# Copyright (c) pst-mm contributors. All rights reserved.
"""Detect objects in images with a pst-mm detection config and a checkpoint
(ours or converted), on mmdet's ``DetInferencer`` (the CLI of mmdet's
demo/image_demo.py).

    python tools/image_demo.py demo.jpg retinanet_r50_pst-n_1x_coco \\
        --weights ckpt.pth --out-dir outputs [--pred-score-thr 0.3]

INPUTS is an image or a folder of images; MODEL a config path, a pst-mm
config name, or a checkpoint that carries its config (then the config is
read from it). Writes ``OUT_DIR/vis/<image>`` (boxes drawn) and
``OUT_DIR/preds/<image stem>.json`` (labels, scores, bboxes).
"""
import os.path as osp
import sys
import warnings
from argparse import ArgumentParser

# mmengine imports setuptools' deprecated pkg_resources, which warns in
# every process: known and harmless (requirements pin setuptools < 81).
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

from mmengine.config import Config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

import pst_mm  # noqa: E402,F401  (registers our modules, safe loading)
from pst_mm.utils.config_lookup import find_config  # noqa: E402
from pst_mm.utils.launch import add_cfg_options_arg  # noqa: E402


def parse_args():
    parser = ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('inputs', type=str, help='image file or folder')
    parser.add_argument(
        'model',
        type=str,
        help='config file, pst-mm config name, or a .pth checkpoint that '
        'carries its config')
    parser.add_argument('--weights', default=None, help='checkpoint file')
    parser.add_argument(
        '--out-dir',
        type=str,
        default='outputs',
        help='output directory of images (vis/) and predictions (preds/)')
    parser.add_argument(
        '--device',
        default=None,
        help='device used for inference; defaults to cuda:0 when CUDA is '
        'available, else cpu')
    parser.add_argument(
        '--pred-score-thr',
        type=float,
        default=0.3,
        help='draw boxes scoring at least this')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='inference batch size')
    parser.add_argument(
        '--show', action='store_true', help='show each image in a window')
    parser.add_argument(
        '--no-save-vis',
        action='store_true',
        help='do not write the drawn images')
    parser.add_argument(
        '--no-save-pred',
        action='store_true',
        help='do not write the JSON predictions')
    parser.add_argument(
        '--print-result',
        action='store_true',
        help='print the predictions')
    parser.add_argument(
        '--palette',
        default='none',
        choices=['coco', 'voc', 'citys', 'random', 'none'],
        help='colour palette of the boxes; "none" takes the config\'s')
    add_cfg_options_arg(
        parser, 'model.neck.pst_cfg.topk=8 model.test_cfg.score_thr=0.05')
    return parser.parse_args()


def build_init_args(args) -> dict:
    """The ``DetInferencer`` arguments from the command line.

    Raises:
        ValueError: For a classification config, or a checkpoint given
            twice.
        FileNotFoundError: For a missing input, checkpoint or config.
    """
    if not osp.exists(args.inputs):
        raise FileNotFoundError(f'input not found: {args.inputs}')
    if args.batch_size < 1:
        raise ValueError(f'--batch-size must be >= 1, got {args.batch_size}')
    weights = args.weights
    model = args.model
    if model.endswith('.pth'):
        # as mmdet's demo: the config comes from the checkpoint
        if weights is not None:
            raise ValueError('MODEL is a checkpoint and --weights is given '
                             'too; give a config as MODEL')
        weights, model = model, None
    if weights is not None and not osp.isfile(weights):
        raise FileNotFoundError(f'checkpoint not found: {weights}')
    if model is not None:
        model = Config.fromfile(find_config(model))
        if args.cfg_options is not None:
            model.merge_from_dict(args.cfg_options)
        scope = model.get('default_scope', 'mmdet')
        if scope != 'mmdet':
            raise ValueError(
                f'{args.model} is an {scope} config; this demo runs mmdet '
                'detection configs (for classification use mmpretrain\'s '
                'ImageClassificationInferencer)')
    elif args.cfg_options is not None:
        raise ValueError('--cfg-options needs a config as MODEL')
    return dict(
        model=model, weights=weights, device=args.device,
        palette=args.palette)


def main():
    args = parse_args()
    try:
        init_args = build_init_args(args)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'tools/image_demo.py: {err}')
    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(**init_args)
    save = not (args.no_save_vis and args.no_save_pred)
    inferencer(
        args.inputs,
        batch_size=args.batch_size,
        show=args.show,
        pred_score_thr=args.pred_score_thr,
        out_dir=args.out_dir if save else '',
        no_save_vis=args.no_save_vis,
        no_save_pred=args.no_save_pred,
        print_result=args.print_result)
    if save:
        print_log(f'results have been saved at {args.out_dir}')


if __name__ == '__main__':
    main()
