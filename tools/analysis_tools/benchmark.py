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
    # GPU: fp16 autocast, eager and CUDA-graph replay, top kernels of the neck
    python tools/analysis_tools/benchmark.py CONFIG --compare BASE --device cuda \
        --amp fp16 --topk 0 8 --batch 1 --cuda-graph
    python tools/analysis_tools/benchmark.py CONFIG --device cuda --amp fp16 \
        --part neck --topk 8 --profile 15
    # torch.compile (inductor; on CPU it needs a C++ compiler)
    python tools/analysis_tools/benchmark.py CONFIG --part neck --topk 8 --compile

``--amp``, ``--cuda-graph`` and ``--compile`` apply to inference only.
``--cuda-graph`` captures each variant's call once (static input) and times
its replay: what is left when no kernel launch costs CPU time.
"""  # noqa: E501
import argparse
import contextlib
import os
import statistics
import sys
import time

import torch
from mmengine.config import DictAction

from pst_mm.models.backbones import SPT
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
                        choices=['naive', 'sdpa', 'triton', 'auto'],
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
    parser.add_argument('--amp', choices=['fp16', 'bf16'],
                        help='run under torch.autocast with this dtype '
                        '(inference)')
    parser.add_argument('--cuda-graph', action='store_true',
                        help='capture every variant in a CUDA graph and '
                        'time its replay (needs --device cuda)')
    parser.add_argument('--compile', nargs='?', const='inductor',
                        metavar='BACKEND',
                        help='torch.compile the timed module (model, neck or '
                        'backbone) with this backend (default inductor; '
                        '"eager" only checks the capture)')
    parser.add_argument('--compile-mode',
                        help='torch.compile mode, e.g. max-autotune')
    parser.add_argument('--profile', type=int, metavar='N',
                        help='after timing, profile one call of every '
                        'variant and print its N ops with the most self '
                        'time: GPU kernel time with --device cuda, CPU time '
                        'otherwise')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeat', type=int, default=10)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--_memory-variant', dest='memory_variant', type=int,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def check_args(parser, args) -> None:
    """Reject option combinations that cannot apply, naming the option."""
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available on this machine')
    gpu_only = args.mode == 'train' and (args.amp or args.cuda_graph
                                         or args.compile)
    if gpu_only:
        parser.error('--amp, --cuda-graph and --compile time inference; '
                     'they do not apply to --mode train')
    if args.cuda_graph and args.device != 'cuda':
        parser.error('--cuda-graph needs --device cuda: CUDA graphs capture '
                     'GPU kernel launches (there is nothing to capture on '
                     'the CPU)')
    if args.cuda_graph and args.compile:
        parser.error('--cuda-graph and --compile exclude each other; use '
                     '--compile --compile-mode reduce-overhead for '
                     'torch.compile with CUDA graphs')
    if args.compile_mode and not args.compile:
        parser.error('--compile-mode needs --compile')
    if args.profile is not None and args.profile < 1:
        parser.error(f'--profile takes a positive number of rows, got '
                     f'{args.profile}')


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
                     baseline=(ci == 1), model=model, inputs=inputs))
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

    module, call = _timed_call(model, inputs, args)
    if args.compile:
        kwargs = dict(backend=args.compile)
        if args.compile_mode:
            kwargs['mode'] = args.compile_mode
        module = torch.compile(module, **kwargs)
    autocast = _autocast(args)

    def step():
        _configure(model, topk, impl)
        model.eval()
        with torch.no_grad(), autocast():
            return call(module)

    if not args.cuda_graph:
        return step
    return _cuda_graph_replay(step)


def _timed_call(model, inputs, args):
    """The module that ``--part`` times and how to call it."""
    if args.part == 'backbone':
        return model.backbone, lambda m: m(inputs)
    if args.part == 'neck':
        if getattr(model, 'neck', None) is None:
            raise ValueError(f'{args.config}: the model has no neck')
        with torch.no_grad():
            model.eval()
            feats = model.backbone(inputs)
        return model.neck, lambda m: m(feats)
    return model, lambda m: m(inputs, mode='tensor')


def _autocast(args):
    if args.amp is None:
        return contextlib.nullcontext
    dtype = dict(fp16=torch.float16, bf16=torch.bfloat16)[args.amp]
    return lambda: torch.autocast(device_type=args.device, dtype=dtype)


def _cuda_graph_replay(step):
    """Capture ``step`` (its variant configured) in a CUDA graph and return
    the replay. Warm-up runs on a side stream, as capture requires."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


def profile_variants(variants, args) -> None:
    """Print the ops with the most self time in one call of each variant:
    CUDA kernel time with ``--device cuda``, CPU time otherwise."""
    from torch.profiler import ProfilerActivity, profile
    cuda = args.device == 'cuda'
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA]
                                           if cuda else [])
    sort_by = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    for v in variants:
        v['fn']()  # warm
        if cuda:
            torch.cuda.synchronize()
        with profile(activities=activities) as prof:
            v['fn']()
            if cuda:
                torch.cuda.synchronize()
        print(f"\nprofile: {v['name']} (topk {v['topk']}, impl "
              f"{v['impl']}), top {args.profile} ops by "
              f"{'GPU' if cuda else 'CPU'} self time")
        print(prof.key_averages().table(sort_by=sort_by,
                                        row_limit=args.profile))


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
    extras = ''.join(
        f', {x}' for x, on in ((f'amp {args.amp}', args.amp),
                               ('CUDA graph replay', args.cuda_graph),
                               (f'torch.compile({args.compile})',
                                args.compile)) if on)
    print(f'{args.mode}, {args.part}, batch {args.batch}, shape {shape}, '
          f'{args.device}{extras}, {torch.get_num_threads()} threads, median '
          f'of {args.repeat} after {args.warmup} warm-up, interleaved')
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
    if args.profile:
        profile_variants(variants, args)
    for v in variants:  # SPT: what the timed input selected
        if isinstance(getattr(v['model'], 'backbone', None), SPT):
            v['model'].eval()
            with torch.no_grad():
                _, sel = v['model'].backbone(v['inputs'], return_select=True)
            ratios = ', '.join(f'{k[len("select_ratio_"):]} {float(r):.1%}'
                               for k, r in sel.ratios.items())
            print(f"{v['name']}: SPA select ratios of the timed input "
                  f'(eval, data-dependent): {ratios}')


if __name__ == '__main__':
    main()
