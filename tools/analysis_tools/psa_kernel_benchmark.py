# Copyright (c) pst-mm contributors. All rights reserved.
"""Latency and extra peak memory of the Pyramid Sparse Attention kernel.

Every (impl, topk) case runs in a fresh subprocess, so its peak-RSS number is
its own; latency cases are interleaved round-robin in one process so that a
noisy machine slows them all alike, and ratios are printed against the first
case.

Example (the numbers in README.md come from this command)::

    python tools/analysis_tools/psa_kernel_benchmark.py \
        --fine 100 168 --heads 4 --dim 32 --topk 0 8 --impl naive sdpa auto
"""
import argparse
import json
import os
import statistics
import sys
import time

from pst_mm.utils.profiling import peak_memory_in_subprocess


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--fine', type=int, nargs=2, default=[100, 168],
                        metavar=('H', 'W'), help='fine map size')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--heads', type=int, default=4)
    parser.add_argument('--dim', type=int, default=32, help='head dim')
    parser.add_argument('--topk', type=int, nargs='+', default=[0, 8])
    parser.add_argument('--impl', nargs='+', default=['naive', 'sdpa'],
                        choices=['naive', 'sdpa', 'auto'])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads (0 = torch default)')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the per-case peak-memory subprocesses')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--_memory-case', dest='memory_case',
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_inputs(args, torch):
    H, W = args.fine
    Hu, Wu = (H + 1) // 2, (W + 1) // 2
    g = torch.Generator().manual_seed(0)
    B, h, d = args.batch, args.heads, args.dim

    def rnd(n):
        return torch.randn(B, h, n, d, generator=g).to(args.device)

    return dict(q=rnd(H * W), k=rnd(Hu * Wu), v=rnd(Hu * Wu),
                k_fine=rnd(H * W), v_fine=rnd(H * W), fine_hw=(H, W),
                coarse_hw=(Hu, Wu))


def measure_memory(args, impl, topk):
    """Run in a subprocess: extra peak memory of one kernel call in MB."""
    import torch

    from pst_mm.models.layers import pyramid_sparse_attention
    from pst_mm.utils.profiling import peak_memory_mb
    if args.threads:
        torch.set_num_threads(args.threads)
    inputs = make_inputs(args, torch)
    with torch.no_grad():
        return peak_memory_mb(
            lambda: pyramid_sparse_attention(**inputs, topk=topk, impl=impl),
            args.device)


def time_cases(args, cases):
    import torch

    from pst_mm.models.layers import pyramid_sparse_attention
    if args.threads:
        torch.set_num_threads(args.threads)
    inputs = make_inputs(args, torch)
    sync = torch.cuda.synchronize if args.device == 'cuda' else (lambda: 0)
    times = {case: [] for case in cases}
    with torch.no_grad():
        for it in range(args.warmup + args.repeat):
            for impl, topk in cases:  # interleaved: same noise for all
                sync()
                start = time.perf_counter()
                pyramid_sparse_attention(**inputs, topk=topk, impl=impl)
                sync()
                if it >= args.warmup:
                    times[(impl, topk)].append(time.perf_counter() - start)
    return {case: statistics.median(t) * 1e3 for case, t in times.items()}


def main(argv=None):
    args = parse_args(argv)
    if args.memory_case:
        impl, topk = args.memory_case.split(':')
        print(f'PEAK_MB {measure_memory(args, impl, int(topk)):.3f}')
        return
    cases = [(impl, k) for impl in args.impl for k in args.topk]
    H, W = args.fine
    N, M = H * W, ((H + 1) // 2) * ((W + 1) // 2)
    print(f'PSA kernel: fine {H}x{W} (N={N}), coarse M={M}, B={args.batch}, '
          f'heads={args.heads}, dim={args.dim}, device={args.device}, '
          f'median of {args.repeat} after {args.warmup} warm-up')
    print(f'dense attention matrix alone: '
          f'{args.batch * args.heads * N * M * 4 / 2**20:.0f} MB (fp32)')
    latency = time_cases(args, cases)
    results = []
    for impl, topk in cases:
        row = dict(impl=impl, topk=topk, ms=latency[(impl, topk)])
        if not args.no_memory:
            row['extra_mb'] = peak_memory_in_subprocess(
                [sys.executable, os.path.abspath(__file__), '--_memory-case',
                 f'{impl}:{topk}'] +
                (argv if argv is not None else sys.argv[1:]))
        results.append(row)
    ref = results[0]['ms']
    header = f"{'impl':<6} {'topk':>4} {'median ms':>10} {'vs first':>9}"
    if not args.no_memory:
        header += f" {'extra peak MB':>14}"
    print(header)
    for row in results:
        line = (f"{row['impl']:<6} {row['topk']:>4} {row['ms']:>10.2f} "
                f"{row['ms'] / ref:>8.2f}x")
        if 'extra_mb' in row:
            line += f" {row['extra_mb']:>14.1f}"
        print(line)
    if not args.no_memory:
        print('memory: extra peak (RSS high-water mark on CPU) of one call, '
              'each case in its own process')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=2)


if __name__ == '__main__':
    main()
