# Copyright (c) pst-mm contributors. All rights reserved.
import importlib.util
import json
import os.path as osp
import subprocess

import pytest

from conftest import REPO, run_tool


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


@pytest.fixture(scope='module')
def kernel_bench():
    spec = importlib.util.spec_from_file_location(
        'psa_kernel_benchmark',
        osp.join(REPO, 'tools/analysis_tools/psa_kernel_benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_out_of_memory_case_is_reported_and_the_others_go_on(
        kernel_bench, capsys, monkeypatch, tmp_path):
    """An (injected) out-of-memory error in one case prints OOM for its time
    and its memory; the other case is still measured. In-process: the
    memory processes are replaced by calls of the tool's own memory mode."""
    argv = ['--fine', '9', '7', '--topk', '8', '--impl', 'naive', 'sdpa',
            '--warmup', '1', '--repeat', '2', '--_inject-oom', 'naive:8']

    def memory_process(cmd, **kwargs):
        child = cmd[cmd.index('--_memory-case'):]
        capsys.readouterr()
        kernel_bench.main(child)
        return subprocess.CompletedProcess(cmd, 0, capsys.readouterr().out,
                                           '')

    monkeypatch.setattr(kernel_bench.subprocess, 'run', memory_process)
    out = tmp_path / 'bench.json'
    kernel_bench.main(argv + ['--json', str(out)])
    printed = capsys.readouterr().out
    rows = {tuple(line.split()[:2]): line.split()
            for line in printed.splitlines()
            if line.startswith(('naive', 'sdpa'))}
    assert rows[('naive', '8')][2:] == ['OOM', '-', 'OOM']
    sdpa = rows[('sdpa', '8')]
    assert float(sdpa[2]) > 0 and sdpa[3] == '1.00x' and float(sdpa[4]) >= 0
    assert 'OOM: the case ran out of memory' in printed
    results = json.load(open(out))['results']
    assert results[0]['ms'] == 'OOM' and results[0]['extra_mb'] == 'OOM'
    assert results[1]['ms'] > 0
