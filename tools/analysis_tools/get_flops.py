# Copyright (c) pst-mm contributors. All rights reserved.
"""Parameters and FLOPs of a detection or classification config.

Counts the attention that generic counters miss: the coarse and fine
``scaled_dot_product_attention`` passes and the eq. 3 score matmuls of every
PSA. The model runs in ``mode='tensor'`` (no NMS), in eval mode, so the fine
branch counts with the config's ``topk`` (``--topk`` overrides it).

    python tools/analysis_tools/get_flops.py configs/pst_det/retinanet_r50_pst-n_1x_coco.py --shape 640 640
"""
import argparse
import json
import math

import torch
from mmengine.config import DictAction

from pst_mm.models.layers import set_pst_topk
from pst_mm.utils import build_model_from_config, top_level_parts
from pst_mm.utils.complexity import TensorModeWrapper, count_complexity


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size; default 640x640 for detection '
                        'and 224x224 for classification configs')
    parser.add_argument('--topk', type=int,
                        help='set every PSA top-k before counting')
    parser.add_argument('--json', help='also write the numbers here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def complexity_of_config(config, shape=None, topk=None, cfg_options=None):
    """Params and FLOPs of ``config`` at ``shape``: the numbers printed by
    this tool, as a dict (also used by model_zoo_tables.py)."""
    cfg, model = build_model_from_config(config, cfg_options)
    if topk is not None:
        set_pst_topk(model, topk)
    is_det = cfg.get('default_scope', 'mmdet') == 'mmdet'
    H, W = shape or ((640, 640) if is_det else (224, 224))
    divisor = cfg.model.get('data_preprocessor', {}).get(
        'pad_size_divisor', 1) if is_det else 1
    H, W = (int(math.ceil(s / divisor) * divisor) for s in (H, W))
    parts = top_level_parts(model)
    with torch.no_grad():
        stats = count_complexity(
            TensorModeWrapper(model), (torch.rand(1, 3, H, W), ),
            top_modules=[f'model.{p}' for p in parts])
    stats['modules'] = {
        k[len('model.'):]: v for k, v in stats['modules'].items()
    }
    stats['params_by_part'] = {
        p: sum(x.numel() for x in getattr(model, p).parameters())
        for p in parts
    }
    stats['shape'] = (H, W)
    return stats


def main(argv=None):
    args = parse_args(argv)
    stats = complexity_of_config(args.config, args.shape, args.topk,
                                 args.cfg_options)
    H, W = stats['shape']
    att = stats['attention']
    print(f'config   {args.config}')
    print(f"input    1x3x{H}x{W}, eval, mode='tensor'")
    print(f"{'part':<12}{'params (M)':>12}{'GFLOPs':>10}")
    for part, params in stats['params_by_part'].items():
        print(f'{part:<12}{params / 1e6:>12.2f}'
              f"{stats['modules'][part] / 1e9:>10.2f}")
    print(f"{'total':<12}{stats['params'] / 1e6:>12.2f}"
          f"{stats['flops'] / 1e9:>10.2f}")
    print(f"attention GFLOPs (in the total): coarse {att['coarse'] / 1e9:.3f}"
          f", score {att['score'] / 1e9:.3f}, fine {att['fine'] / 1e9:.3f}")
    print('FLOPs = 2 x multiply-adds')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(stats, f, indent=2)


if __name__ == '__main__':
    main()
