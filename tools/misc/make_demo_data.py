# Copyright (c) pst-mm contributors. All rights reserved.
"""Build the demo detection (COCO) or classification (folder) set, or a
held-out detection set, from what scikit-image ships; nothing is downloaded.

    python tools/misc/make_demo_data.py det data/pst_demo_det
    python tools/misc/make_demo_data.py cls data/pst_demo_cls
    python tools/misc/make_demo_data.py faces data/heldout_faces
    python tools/misc/make_demo_data.py shapes data/heldout_shapes

``faces`` (real photographs) and ``shapes`` (synthetic) are the held-out
sets of ``pst_mm.datasets.build_det_heldout``.
"""
import argparse
import os
import os.path as osp
import sys

from pst_mm.datasets import build_cls_demo, build_det_demo, build_det_heldout


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('task', choices=['det', 'cls', 'faces', 'shapes'])
    parser.add_argument('out_dir')
    parser.add_argument('--num-train', type=int, default=None,
                        help='training images (det) or per class (cls)')
    parser.add_argument('--num-val', type=int, default=None,
                        help='validation images (det) or per class (cls)')
    parser.add_argument('--img-size', type=int, default=None)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty out_dir')
    return parser.parse_args()


def main():
    args = parse_args()
    if osp.isdir(args.out_dir) and os.listdir(args.out_dir) and \
            not args.overwrite:
        print(f'{args.out_dir} is not empty; pass --overwrite to rebuild it',
              file=sys.stderr)
        sys.exit(1)
    kwargs = dict(seed=args.seed)
    per_class = '_per_class' if args.task == 'cls' else ''
    if args.num_train:
        kwargs['num_train' + per_class] = args.num_train
    if args.num_val:
        kwargs['num_val' + per_class] = args.num_val
    heldout = args.task in ('faces', 'shapes')
    if args.img_size:
        if heldout:
            print('--img-size does not apply to the held-out sets (their '
                  'sizes are fixed)', file=sys.stderr)
            sys.exit(2)
        kwargs['img_size'] = args.img_size
    if heldout:
        paths = build_det_heldout(args.out_dir, args.task, **kwargs)
        print(f'held-out {args.task} set written: {paths}')
    elif args.task == 'det':
        paths = build_det_demo(args.out_dir, **kwargs)
        print(f'detection demo set written: {paths}')
    else:
        classes = build_cls_demo(args.out_dir, **kwargs)
        print(f'classification demo set written to {args.out_dir}: '
              f'{len(classes)} classes {classes}')


if __name__ == '__main__':
    main()
