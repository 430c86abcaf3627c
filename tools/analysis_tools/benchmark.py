# Copyright (c) pst-mm contributors. All rights reserved.
"""Latency, throughput and peak memory of configs, side by side.

Every variant (config x top-k x impl) is built once and timed round-robin in
one process, so a noisy machine slows them all alike; ratios are printed
against the baseline (the ``--compare`` config, else the first variant).

    # PST-DET vs FPN RetinaNet, whole model and neck only (paper Table 4a/4f shapes)
    python tools/analysis_tools/benchmark.py configs/pst_det/retinanet_r50_pst-n_1x_coco.py \
        --compare configs/pst_det/retinanet_r50_fpn_1x_coco.py --shape 640 640 --topk 0 8
    python tools/analysis_tools/benchmark.py CONFIG --part neck --topk 0 8 16 32 --impl naive sdpa
    # SPT vs Swin backbone throughput on a real image, trained gates
    python tools/analysis_tools/benchmark.py SPT_CONFIG --compare SWIN_CONFIG \
        --part backbone --checkpoint SPT_CKPT SWIN_CKPT --image IMG --batch 8
    # one training step (coarse only), batch 2
    python tools/analysis_tools/benchmark.py CONFIG --compare BASE --mode train --batch 2
"""
import argparse
import os
import statistics
import sys
import time

import torch
from mmengine.config import DictAction

from pst_mm.models.layers import PyramidSparseAttention, set_pst_topk
from pst_mm.utils import build_model_from_config
from pst_mm.utils.profiling import peak_memory_in_subprocess, peak_memory_mb


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--compare', help='baseline config, run interleaved')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='default 640x640 (detection), 224x224 (cls)')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--topk', type=int, nargs='+',
                        help='PSA top-k values to sweep (default: config)')
    parser.add_argument('--impl', nargs='+',
                        choices=['naive', 'sdpa', 'auto'],
                        help='PSA kernels to sweep (default: config)')
    parser.add_argument('--part', default='model',
                        choices=['model', 'neck', 'backbone'],
                        help='time the whole model, the neck or the '
                        'backbone alone')
    parser.add_argument('--checkpoint', nargs='+',
                        help='weights of CONFIG (and of --compare), in '
                        'that order (SPT: the trained gates decide what '
                        'SPA selects)')
    parser.add_argument('--image', help='time on this image (resized to '
                        '--shape) instead of random pixels: SPT speed '
                        'depends on what it selects')
    parser.add_argument('--mode', default='inference',
                        choices=['inference', 'train'],
                        help='inference forward, or one training step '
                        '(forward, loss, backward, SGD step; coarse only)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--_memory-variant', dest='memory_variant', type=int,
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _inputs(cfg, model, batch, shape, device, mode, image=None):
    """A preprocessed batch: tensors for inference, (inputs, samples) for
    training; ``image`` (resized to the shape) replaces the random
    pixels."""
    is_det = cfg.get('default_scope', 'mmdet') == 'mmdet'
    H, W = shape or ((640, 640) if is_det else (224, 224))
    if is_det:
        from mmdet.testing import demo_mm_inputs
        packed = demo_mm_inputs(
            batch, [(3, H, W)] * batch, num_items=[5] * batch,
            num_classes=cfg.model.bbox_head.num_classes)
    else:
        from mmpretrain.structures import DataSample
        packed = dict(
            inputs=[torch.randint(0, 255, (3, H, W)).byte()
                    for _ in range(batch)],
            data_samples=[DataSample().set_gt_label(0)
                          for _ in range(batch)])
    if image is not None:
        import mmcv
        img = mmcv.imresize(mmcv.imread(image), (W, H))
        img = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        packed['inputs'] = [img.clone() for _ in range(batch)]
    data = model.data_preprocessor(packed, mode == 'train')
    return data['inputs'].to(device), data['data_samples']


def build_variants(args):
    """One (name, callable, model) per config x topk x impl."""
    variants = []
    configs = [args.config] + ([args.compare] if args.compare else [])
    for ci, config in enumerate(configs):
        cfg, model = build_model_from_config(config, args.cfg_options)
        if args.checkpoint and ci < len(args.checkpoint):
            from mmengine.runner import load_checkpoint
            load_checkpoint(model, args.checkpoint[ci], map_location='cpu',
                            logger=None)
        model.to(args.device)
        inputs, samples = _inputs(cfg, model, args.batch, args.shape,
                                  args.device, args.mode, args.image)
        has_psa = any(
            isinstance(m, PyramidSparseAttention) for m in model.modules())
        sweeps = [(k, i) for k in (args.topk or [None])
                  for i in (args.impl or [None])] if has_psa else [(None,
                                                                   None)]
        name = config.rsplit('/', 1)[-1].rsplit('.', 1)[0]
        for topk, impl in sweeps:
            fn = _make_step(model, inputs, samples, args, topk, impl)
            label = name + (f' [{args.part}]' if args.part != 'model' else
                            '')
            variants.append(
                dict(name=label, topk='-' if topk is None else topk,
                     impl='-' if impl is None else impl, fn=fn,
                     baseline=(ci == 1), model=model))
    return variants


def _configure(model, topk, impl):
    if topk is not None:
        set_pst_topk(model, topk)
    if impl is not None:
        for m in model.modules():
            if isinstance(m, PyramidSparseAttention):
                m.impl = impl


def _make_step(model, inputs, samples, args, topk, impl):
    if args.mode == 'train':
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)

        def step():
            _configure(model, topk, impl)
            model.train()
            losses = model(inputs, samples, mode='loss')
            loss = sum(v.sum() if torch.is_tensor(v) else sum(x.sum()
                                                              for x in v)
                       for k, v in losses.items() if 'loss' in k)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        return step

    if args.part == 'backbone':

        def step():
            model.eval()
            with torch.no_grad():
                model.backbone(inputs)

        return step

    if args.part == 'neck':
        if getattr(model, 'neck', None) is None:
            raise ValueError(f'{args.config}: the model has no neck')
        with torch.no_grad():
            model.eval()
            feats = model.backbone(inputs)

        def step():
            _configure(model, topk, impl)
            model.eval()
            with torch.no_grad():
                model.neck(feats)

        return step

    def step():
        _configure(model, topk, impl)
        model.eval()
        with torch.no_grad():
            model(inputs, mode='tensor')

    return step


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    torch.manual_seed(0)
    variants = build_variants(args)
    if args.memory_variant is not None:
        v = variants[args.memory_variant]
        print(f"PEAK_MB {peak_memory_mb(v['fn'], args.device):.3f}")
        return
    sync = torch.cuda.synchronize if args.device == 'cuda' else (lambda: 0)
    times = [[] for _ in variants]
    for it in range(args.warmup + args.repeat):
        for v, t in zip(variants, times):  # interleaved
            sync()
            start = time.perf_counter()
            v['fn']()
            sync()
            if it >= args.warmup:
                t.append(time.perf_counter() - start)
    for i, (v, t) in enumerate(zip(variants, times)):
        v['ms'] = statistics.median(t) * 1e3
        v['mb'] = peak_memory_mb(v['fn'], 'cuda') if args.device == 'cuda' \
            else peak_memory_in_subprocess(
                [sys.executable, os.path.abspath(__file__)] + argv +
                ['--_memory-variant', str(i)])
    ref = next((v for v in variants if v['baseline']), variants[0])
    shape = 'x'.join(map(str, args.shape)) if args.shape else 'default'
    print(f'{args.mode}, {args.part}, batch {args.batch}, shape {shape}, '
          f'{args.device}, {torch.get_num_threads()} threads, median of '
          f'{args.repeat} after {args.warmup} warm-up, interleaved')
    width = max(len(v['name']) for v in variants)
    print(f"{'model':<{width}} {'topk':>4} {'impl':>5} {'median ms':>10} "
          f"{'img/s':>8} {'peak MB':>8} {'ratio':>7}")
    for v in variants:
        print(f"{v['name']:<{width}} {v['topk']:>4} {v['impl']:>5} "
              f"{v['ms']:>10.2f} {args.batch / v['ms'] * 1e3:>8.2f} "
              f"{v['mb']:>8.1f} {v['ms'] / ref['ms']:>6.2f}x")
    print(f"ratio = median ms / {ref['name']} (topk {ref['topk']}, impl "
          f"{ref['impl']}); peak MB = extra peak memory of one call, each "
          f"variant in its own process on CPU")
    for v in variants:  # SPT: what the timed input selected
        sel = getattr(getattr(v['model'], 'backbone', None),
                      'last_selection', None)
        if sel is not None:
            ratios = ', '.join(f'{k[len("select_ratio_"):]} {float(r):.1%}'
                               for k, r in sel.ratios.items())
            print(f"{v['name']}: SPA select ratios of the timed input "
                  f'(eval, data-dependent): {ratios}')


if __name__ == '__main__':
    main()
