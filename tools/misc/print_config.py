# Copyright (c) pst-mm contributors. All rights reserved.
"""Print a config with its ``_base_`` files, ``--cfg-options`` and
environment variables resolved (as mmdet's tools/misc/print_config.py).

    python tools/misc/print_config.py CONFIG [--save-path full.py]
        [--cfg-options model.neck.pst_cfg.topk=8]

CONFIG is a path or a pst-mm config name (e.g. retinanet_r50_pst-n_1x_coco).
"""
import argparse
import os
import os.path as osp
import sys
import warnings

# mmengine imports setuptools' deprecated pkg_resources, which warns in
# every process: known and harmless (requirements pin setuptools < 81).
warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)

from mmengine.config import Config  # noqa: E402

from pst_mm.utils.config_lookup import find_config  # noqa: E402
from pst_mm.utils.launch import add_cfg_options_arg  # noqa: E402

SUFFIXES = ('.py', '.json', '.yml', '.yaml')


def parse_args():
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path or config name')
    parser.add_argument(
        '--save-path',
        default=None,
        help='also save the whole config here (.py, .json, .yml or .yaml)')
    add_cfg_options_arg(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        if args.save_path is not None and not args.save_path.endswith(
                SUFFIXES):
            raise ValueError(f'--save-path must end with one of {SUFFIXES}, '
                             f'got {args.save_path}')
        cfg = Config.fromfile(find_config(args.config))
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'tools/misc/print_config.py: {err}')
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')
    if args.save_path is not None:
        os.makedirs(
            osp.dirname(osp.abspath(args.save_path)), exist_ok=True)
        cfg.dump(args.save_path)
        print(f'Config saved to {args.save_path}')


if __name__ == '__main__':
    main()
