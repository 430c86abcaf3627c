# Copyright (c) pst-mm contributors. All rights reserved.
"""How much each fine-attention fusion rule moves the scale of what every
PSA layer's output projection produces, relative to coarse-only.

    python tools/analysis_tools/fusion_scale.py CONFIG [CHECKPOINT] \
        [--fusions sum sum_norm mean refine] [--topk 8] [--batches 3]

For a model trained coarse-only, the output projection and its BN have only
ever seen coarse outputs; a rule that changes their scale feeds the layers
after it inputs they were not calibrated for. The tool runs the first
``--batches`` batches of the config's test loader once coarse-only and once
per rule with top-``k`` fine attention, and prints, per PSA layer, the RMS
of the projection's output divided by the coarse-only RMS (1.00 = scale
unchanged). ``gate`` can only be measured on a model built with it.
"""
import argparse
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner, load_checkpoint

from pst_mm.models.layers import PyramidSparseAttention
from pst_mm.models.layers.pst import FUSIONS
from pst_mm.utils import build_model_from_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--fusions', nargs='+', choices=FUSIONS,
                        default=['sum', 'sum_norm', 'mean', 'refine'])
    parser.add_argument('--topk', type=int, default=8,
                        help='fine-attention top-k of every PSA layer')
    parser.add_argument('--batches', type=int, default=3,
                        help='test-loader batches to measure on')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error(f'--topk must be >= 1 (fine attention on), got '
                     f'{args.topk}')
    if args.batches < 1:
        parser.error(f'--batches must be >= 1, got {args.batches}')
    return args


def projection_rms(model: torch.nn.Module, batches: List[dict],
                   attns: List[PyramidSparseAttention], topk: int,
                   fusion: Optional[str]) -> List[float]:
    """RMS of each layer's output projection over ``batches``.

    Args:
        model (nn.Module): The model, in eval mode.
        batches (list[dict]): Data-loader batches for ``model.test_step``.
        attns (list[PyramidSparseAttention]): The layers to measure.
        topk (int): Fine-attention top-k; 0 = coarse only.
        fusion (str, optional): Fusion rule; None keeps each layer's own.

    Returns:
        list[float]: One RMS per layer.
    """
    sums = [0.0] * len(attns)
    counts = [0] * len(attns)

    def hook(i):

        def record(module, inputs, output):
            sums[i] += output.double().pow(2).sum().item()
            counts[i] += output.numel()

        return record

    saved = [(a.topk, a.fusion) for a in attns]
    handles = [a.proj.register_forward_hook(hook(i))
               for i, a in enumerate(attns)]
    try:
        for a in attns:
            a.topk = topk
            if fusion is not None:
                a.fusion = fusion
        with torch.no_grad():
            for batch in batches:
                model.test_step(batch)
    finally:
        for h in handles:
            h.remove()
        for a, (k, f) in zip(attns, saved):
            a.topk, a.fusion = k, f
    return [(s / max(c, 1))**0.5 for s, c in zip(sums, counts)]


def fusion_scales(model: torch.nn.Module, batches: List[dict],
                  fusions: Sequence[str],
                  topk: int = 8) -> Dict[str, List[float]]:
    """Per rule, each PSA layer's projection RMS over the coarse-only RMS.

    Args:
        model (nn.Module): The model, in eval mode.
        batches (list[dict]): Data-loader batches for ``model.test_step``.
        fusions (Sequence[str]): Rules to measure.
        topk (int): Fine-attention top-k. Defaults to 8.

    Returns:
        dict[str, list[float]]: ``{rule: [ratio per layer]}``.
    """
    attns = [m for m in model.modules()
             if isinstance(m, PyramidSparseAttention)]
    if not attns:
        raise ValueError('the model has no PyramidSparseAttention layer')
    if 'gate' in fusions and any(a.gate is None for a in attns):
        raise ValueError("fusion 'gate' needs a model built with "
                         "fusion='gate' (its gate weights); this one has none")
    if any(a.attn != 'softmax' for a in attns):
        raise ValueError('fine attention needs attn=\'softmax\' in every '
                         'PSA layer')
    coarse = projection_rms(model, batches, attns, 0, None)
    return {
        rule: [r / max(c, 1e-12) for r, c in zip(
            projection_rms(model, batches, attns, topk, rule), coarse)]
        for rule in fusions
    }


def format_table(scales: Dict[str, List[float]]) -> str:
    """Markdown: a row per rule, a column per PSA layer."""
    n = len(next(iter(scales.values())))
    lines = ['| fusion | ' + ' | '.join(f'PSA {i}' for i in range(n)) + ' |',
             '|---|' + '---|' * n]
    for rule, ratios in scales.items():
        lines.append(f'| {rule} | ' +
                     ' | '.join(f'{r:.2f}' for r in ratios) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    cfg, model = build_model_from_config(args.config, args.cfg_options)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()
    loader = Runner.build_dataloader(cfg.test_dataloader)
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == args.batches:
            break
    print(format_table(fusion_scales(model, batches, args.fusions,
                                     args.topk)))


if __name__ == '__main__':
    main()
