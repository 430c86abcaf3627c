# Copyright (c) pst-mm contributors. All rights reserved.
"""Latency and extra peak memory of the Pyramid Sparse Attention kernel.

Every (impl, topk) case runs in a fresh subprocess, so its peak-RSS number is
its own; latency cases are interleaved round-robin in one process so that a
noisy machine slows them all alike, and ratios are printed against the first
case.

Example (configs/pst_det/README.md, "Speed", has its numbers)::

    python tools/analysis_tools/psa_kernel_benchmark.py \
        --fine 100 168 --heads 4 --dim 32 --topk 0 8 --impl naive sdpa auto

On a GPU, fp16, the paper's 640x640 P3 shapes (the ``triton`` impl takes the
selection scores from the Triton kernel)::

    python tools/analysis_tools/psa_kernel_benchmark.py --device cuda \
        --dtype fp16 --fine 80 80 --heads 4 --dim 32 --topk 0 8 \
        --impl sdpa triton naive

A case that runs out of memory is reported as ``OOM`` and the others go on.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from pst_mm.utils.profiling import MEMORY_ENV

DTYPES = dict(fp32='float32', fp16='float16', bf16='bfloat16')
OOM = 'OOM'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--fine', type=int, nargs=2, default=[100, 168],
                        metavar=('H', 'W'), help='fine map size')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--heads', type=int, default=4)
    parser.add_argument('--dim', type=int, default=32, help='head dim')
    parser.add_argument('--topk', type=int, nargs='+', default=[0, 8])
    parser.add_argument('--impl', nargs='+', default=['naive', 'sdpa'],
                        choices=['naive', 'sdpa', 'triton', 'auto'])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--dtype', default='fp32', choices=sorted(DTYPES),
                        help='dtype of q, k, v')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads (0 = torch default)')
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the per-case peak-memory subprocesses')
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--_memory-case', dest='memory_case',
                        help=argparse.SUPPRESS)
    # tests: make the case IMPL:TOPK raise an out-of-memory error
    parser.add_argument('--_inject-oom', dest='inject_oom',
                        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def make_inputs(args, torch):
    H, W = args.fine
    Hu, Wu = (H + 1) // 2, (W + 1) // 2
    g = torch.Generator().manual_seed(0)
    B, h, d = args.batch, args.heads, args.dim

    dtype = getattr(torch, DTYPES[args.dtype])

    def rnd(n):
        return torch.randn(B, h, n, d, generator=g).to(args.device, dtype)

    return dict(q=rnd(H * W), k=rnd(Hu * Wu), v=rnd(Hu * Wu),
                k_fine=rnd(H * W), v_fine=rnd(H * W), fine_hw=(H, W),
                coarse_hw=(Hu, Wu))


def kernel_call(args, inputs, impl, topk):
    """One PSA call of the case (impl, topk), as a no-argument function."""
    import torch

    from pst_mm.models.layers import pyramid_sparse_attention
    if args.inject_oom == f'{impl}:{topk}':

        def call():
            raise torch.OutOfMemoryError(
                f'injected out-of-memory error ({impl}:{topk})')

        return call
    return lambda: pyramid_sparse_attention(**inputs, topk=topk, impl=impl)


def _free_after_oom(torch, device):
    if device == 'cuda':
        torch.cuda.empty_cache()


def measure_memory(args, impl, topk):
    """Run in a subprocess: extra peak memory of one kernel call in MB, or
    ``OOM``."""
    import torch

    from pst_mm.utils.profiling import peak_memory_mb
    if args.threads:
        torch.set_num_threads(args.threads)
    inputs = make_inputs(args, torch)
    with torch.no_grad():
        try:
            return peak_memory_mb(kernel_call(args, inputs, impl, topk),
                                  args.device)
        except torch.OutOfMemoryError:
            return OOM


def case_memory(argv, impl, topk):
    """Extra peak memory of one case in its own process (MB, or ``OOM``)."""
    cmd = [sys.executable, os.path.abspath(__file__), '--_memory-case',
           f'{impl}:{topk}'] + argv
    proc = subprocess.run(cmd, env=dict(os.environ, **MEMORY_ENV),
                          capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith('PEAK_MB ')]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f'memory run {" ".join(cmd)} failed:\n'
                           f'{proc.stderr[-3000:]}')
    value = lines[-1].split()[1]
    return OOM if value == OOM else float(value)


def time_cases(args, cases):
    """Median ms per case; ``OOM`` for a case that ran out of memory (it is
    dropped from the later rounds, the others go on)."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    inputs = make_inputs(args, torch)
    calls = {(impl, topk): kernel_call(args, inputs, impl, topk)
             for impl, topk in cases}
    sync = torch.cuda.synchronize if args.device == 'cuda' else (lambda: 0)
    times = {case: [] for case in cases}
    oom = set()
    with torch.no_grad():
        for it in range(args.warmup + args.repeat):
            for case in cases:  # interleaved: same noise for all
                if case in oom:
                    continue
                sync()
                start = time.perf_counter()
                try:
                    calls[case]()
                    sync()
                except torch.OutOfMemoryError:
                    oom.add(case)
                    _free_after_oom(torch, args.device)
                    continue
                if it >= args.warmup:
                    times[case].append(time.perf_counter() - start)
    return {
        case: OOM if case in oom else statistics.median(t) * 1e3
        for case, t in times.items()
    }


def main(argv=None):
    args = parse_args(argv)
    if args.memory_case:
        impl, topk = args.memory_case.split(':')
        mb = measure_memory(args, impl, int(topk))
        print(f'PEAK_MB {mb}' if mb == OOM else f'PEAK_MB {mb:.3f}')
        return
    cases = [(impl, k) for impl in args.impl for k in args.topk]
    H, W = args.fine
    N, M = H * W, ((H + 1) // 2) * ((W + 1) // 2)
    print(f'PSA kernel: fine {H}x{W} (N={N}), coarse M={M}, B={args.batch}, '
          f'heads={args.heads}, dim={args.dim}, device={args.device}, '
          f'{args.dtype}, median of {args.repeat} after {args.warmup} '
          f'warm-up')
    print(f'dense attention matrix alone: '
          f'{args.batch * args.heads * N * M * 4 / 2**20:.0f} MB (fp32)')
    latency = time_cases(args, cases)
    results = []
    for impl, topk in cases:
        row = dict(impl=impl, topk=topk, ms=latency[(impl, topk)])
        if not args.no_memory:
            row['extra_mb'] = case_memory(
                argv if argv is not None else sys.argv[1:], impl, topk)
        results.append(row)
    ref = next((r['ms'] for r in results if r['ms'] != OOM), None)
    header = f"{'impl':<6} {'topk':>4} {'median ms':>10} {'vs first':>9}"
    if not args.no_memory:
        header += f" {'extra peak MB':>14}"
    print(header)
    for row in results:
        if row['ms'] == OOM:
            line = f"{row['impl']:<6} {row['topk']:>4} {OOM:>10} {'-':>9}"
        else:
            line = (f"{row['impl']:<6} {row['topk']:>4} {row['ms']:>10.2f} "
                    f"{row['ms'] / ref:>8.2f}x")
        if 'extra_mb' in row:
            mb = row['extra_mb']
            line += f' {mb:>14}' if mb == OOM else f' {mb:>14.1f}'
        print(line)
    if not args.no_memory:
        print('memory: extra peak (RSS high-water mark on CPU) of one call, '
              'each case in its own process')
    if any(r['ms'] == OOM for r in results):
        print(f'{OOM}: the case ran out of memory; "vs first" is against the '
              'first case that ran')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), results=results), f, indent=2)


if __name__ == '__main__':
    main()
