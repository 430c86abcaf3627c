# Copyright (c) pst-mm contributors. All rights reserved.
"""Save the freshly initialised (untrained) model of a config as a
checkpoint, e.g. to measure an untrained model with tools/test.py.

    python tools/misc/init_checkpoint.py CONFIG OUT.pth [--seed 0]
"""
import argparse
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import save_checkpoint

import pst_mm  # noqa: F401


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('out', help='checkpoint path (.pth)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    if osp.exists(args.out) and not args.overwrite:
        print(f'{args.out} exists; pass --overwrite to replace it',
              file=sys.stderr)
        sys.exit(1)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    save_checkpoint(
        dict(meta=dict(epoch=0, iter=0, seed=args.seed),
             state_dict=model.state_dict()), args.out)
    print(f'untrained checkpoint written to {args.out}')


if __name__ == '__main__':
    main()
