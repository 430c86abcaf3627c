# Copyright (c) pst-mm contributors. All rights reserved.
import json

from conftest import run_tool


def test_memory_bound_at_paper_scale(tmp_path):
    """Fine 100x168 / coarse 50x84, 4 heads x 32, top-8, eval: the call's
    extra peak memory (its own process, RSS high-water mark) stays under
    400 MB, while the dense attention matrix alone would be 1.08 GB."""
    out = tmp_path / 'bench.json'
    proc = run_tool([
        'tools/analysis_tools/psa_kernel_benchmark.py', '--fine', '100',
        '168', '--heads', '4', '--dim', '32', '--topk', '8', '--impl',
        'auto', 'sdpa', '--warmup', '0', '--repeat', '1', '--json',
        str(out)
    ])
    assert 'dense attention matrix alone: 1077 MB' in proc.stdout
    results = json.load(open(out))['results']
    assert [(r['impl'], r['topk']) for r in results] == [('auto', 8),
                                                         ('sdpa', 8)]
    for row in results:
        assert 0 < row['extra_mb'] < 400, row


def test_benchmark_table_and_ratios(tmp_path):
    proc = run_tool([
        'tools/analysis_tools/psa_kernel_benchmark.py', '--fine', '24', '31',
        '--topk', '0', '8', '--impl', 'naive', 'sdpa', '--warmup', '1',
        '--repeat', '2', '--no-memory'
    ])
    rows = [line.split() for line in proc.stdout.splitlines()
            if line.startswith(('naive', 'sdpa'))]
    assert [(r[0], r[1]) for r in rows] == [('naive', '0'), ('naive', '8'),
                                            ('sdpa', '0'), ('sdpa', '8')]
    assert rows[0][3] == '1.00x'
    assert all(float(r[2]) > 0 for r in rows)
