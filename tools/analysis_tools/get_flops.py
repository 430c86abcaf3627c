# Copyright (c) pst-mm contributors. All rights reserved.
"""Parameters and FLOPs of a detection or classification config.

Counts the attention that generic counters miss: the coarse and fine
``scaled_dot_product_attention`` passes and the eq. 3 score matmuls of every
PSA. The model runs in ``mode='tensor'`` (no NMS), in eval mode, so the fine
branch counts with the config's ``topk`` (``--topk`` overrides it).

    python tools/analysis_tools/get_flops.py configs/pst_det/retinanet_r50_pst-n_1x_coco.py --shape 640 640
"""  # noqa: E501
import argparse
import inspect
import json
import math

import torch
from mmengine.config import DictAction

from pst_mm.models.backbones import SPT
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
    parser.add_argument('--checkpoint', help='weights to load (SPT: the '
                        'trained gates decide what SPA selects)')
    parser.add_argument('--image', help='count on this image (resized to '
                        '--shape, normalised by the model) instead of '
                        'random input; SPT FLOPs depend on it')
    parser.add_argument('--json', help='also write the numbers here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _input(model, H, W, image=None):
    """Random input, or ``image`` resized to HxW through the model's
    data preprocessor (normalisation, BGR->RGB)."""
    if image is None:
        return torch.rand(1, 3, H, W)
    import mmcv
    img = mmcv.imresize(mmcv.imread(image), (W, H))
    data = dict(inputs=[torch.from_numpy(img).permute(2, 0, 1).contiguous()])
    return model.data_preprocessor(data, False)['inputs']


def _dense_twin_backbone_flops(cfg, model, x):
    """FLOPs of the Swin backbone an SPT backbone replaces: same config
    without the SPT-only arguments, on the same input."""
    from mmdet.registry import MODELS
    from pst_mm.models.backbones.spt import SPT
    spt_only = set(inspect.signature(SPT.__init__).parameters) - {
        'self', 'depths', 'num_heads', 'kwargs'}
    bcfg = {k: v for k, v in cfg.model.backbone.items() if k not in spt_only}
    bcfg.update(type='SwinTransformer', init_cfg=None,
                embed_dims=model.backbone.patch_embed.projection.out_channels,
                depths=[len(s.blocks) for s in model.backbone.stages])
    swin = MODELS.build(bcfg)
    swin.eval()  # mmdet's SwinTransformer.train() returns None
    return count_complexity(swin, (x, ))['flops']


def complexity_of_config(config, shape=None, topk=None, cfg_options=None,
                         checkpoint=None, image=None):
    """Params and FLOPs of ``config`` at ``shape``: the numbers printed by
    this tool, as a dict (also used by model_zoo_tables.py). SPT models
    add ``select_ratios`` (of this input) and ``dense_backbone_flops`` (the
    same-depth Swin backbone on the same input)."""
    cfg, model = build_model_from_config(config, cfg_options)
    if checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, checkpoint, map_location='cpu', logger=None)
    if topk is not None:
        set_pst_topk(model, topk)
    is_det = cfg.get('default_scope', 'mmdet') == 'mmdet'
    H, W = shape or ((640, 640) if is_det else (224, 224))
    divisor = cfg.model.get('data_preprocessor', {}).get(
        'pad_size_divisor', 1) if is_det else 1
    H, W = (int(math.ceil(s / divisor) * divisor) for s in (H, W))
    parts = top_level_parts(model)
    x = _input(model, H, W, image)
    with torch.no_grad():
        stats = count_complexity(
            TensorModeWrapper(model), (x, ),
            top_modules=[f'model.{p}' for p in parts])
        if isinstance(getattr(model, 'backbone', None), SPT):
            _, selection = model.backbone(x, return_select=True)
            stats['select_ratios'] = {
                k: float(v) for k, v in selection.ratios.items()
            }
            # both backbones counted alone, on the same input
            stats['backbone_flops'] = count_complexity(
                model.backbone, (x, ))['flops']
            stats['dense_backbone_flops'] = _dense_twin_backbone_flops(
                cfg, model, x)
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
                                 args.cfg_options, args.checkpoint,
                                 args.image)
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
          f", score {att['score'] / 1e9:.3f}, fine {att['fine'] / 1e9:.3f}"
          + (f", SPA {att['spa'] / 1e9:.3f}" if 'spa' in att else ''))
    if 'select_ratios' in stats:
        ratios = ', '.join(f'{k[len("select_ratio_"):]} {v:.1%}'
                           for k, v in stats['select_ratios'].items())
        spt, swin = stats['backbone_flops'], stats['dense_backbone_flops']
        print('SPA blocks counted at the tokens they selected for THIS '
              f'input (data-dependent; eval, no noise): {ratios}')
        print(f'backbone GFLOPs: SPT {spt / 1e9:.3f} vs same-depth Swin '
              f'{swin / 1e9:.3f} ({spt / swin - 1:+.1%})')
    print('FLOPs = 2 x multiply-adds')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(stats, f, indent=2)


if __name__ == '__main__':
    main()
