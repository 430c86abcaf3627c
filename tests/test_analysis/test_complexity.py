# Copyright (c) pst-mm contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from conftest import REPO, run_tool
from pst_mm.models.layers import PyramidSparseAttention
from pst_mm.utils.complexity import count_complexity


def test_plain_conv_model_matches_analytic_count():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(),
        nn.Conv2d(8, 16, 1, stride=2, bias=False)).eval()
    stats = count_complexity(model, (torch.rand(1, 3, 16, 20), ))
    macs = 8 * 3 * 9 * 16 * 20 + 16 * 8 * 8 * 10
    assert stats['macs'] == macs
    assert stats['flops'] == 2 * macs
    assert stats['params'] == 8 * 3 * 9 + 16 * 8
    assert stats['attention'] == dict(coarse=0, score=0, fine=0)


@pytest.mark.parametrize('H, W, topk', [(12, 16, 0), (12, 16, 3), (9, 7, 2)])
def test_attention_terms(H, W, topk):
    h, d = 2, 16
    attn = PyramidSparseAttention(h * d, num_heads=h, topk=topk).eval()
    Hu, Wu = (H + 1) // 2, (W + 1) // 2
    N, M = H * W, Hu * Wu
    stats = count_complexity(
        attn, (torch.rand(1, h * d, H, W), torch.rand(1, h * d, Hu, Wu)))
    # q k^T and P v: 2 matmuls of N x M x d per head, 2 FLOPs per MAC.
    assert stats['attention']['coarse'] == 4 * N * M * d * h
    if topk:
        # The score pass recomputes q k^T; fine attends to 4k tokens.
        assert stats['attention']['score'] == 2 * N * M * d * h
        assert stats['attention']['fine'] == 4 * N * (4 * topk) * d * h
    else:
        assert stats['attention']['score'] == stats['attention']['fine'] == 0
    assert stats['flops'] > sum(stats['attention'].values())


def test_get_flops_tool_end_to_end(tmp_path):
    out = tmp_path / 'flops.json'
    proc = run_tool([
        'tools/analysis_tools/get_flops.py',
        'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py', '--shape',
        '100', '120', '--json', str(out)
    ])
    assert 'input    1x3x128x128' in proc.stdout  # padded to 32
    rows = {line.split()[0]: line.split()[1:] for line in
            proc.stdout.splitlines() if line.startswith(
                ('backbone', 'neck', 'bbox_head', 'total'))}
    assert set(rows) == {'backbone', 'neck', 'bbox_head', 'total'}
    parts = sum(float(rows[p][1]) for p in ('backbone', 'neck', 'bbox_head'))
    assert abs(parts - float(rows['total'][1])) < 0.02
    import json
    stats = json.load(open(out))
    assert stats['attention']['coarse'] > 0 and stats['attention']['fine'] > 0
    # --topk 0 removes the score and fine passes, nothing else.
    out0 = tmp_path / 'flops0.json'
    run_tool([
        'tools/analysis_tools/get_flops.py',
        'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py', '--shape',
        '100', '120', '--topk', '0', '--json', str(out0)
    ])
    s0 = json.load(open(out0))
    assert s0['attention']['fine'] == s0['attention']['score'] == 0
    assert s0['attention']['coarse'] == stats['attention']['coarse']
    # Fine attention adds the score and fine passes, and the shared K/V
    # projection applied to X (demo neck: C' 64 at 16x16, 128 at 8x8).
    kv = 0
    for c, hw in ((64, 16), (128, 8)):
        conv = PyramidSparseAttention(c).kv.eval()
        kv += count_complexity(conv, (torch.rand(1, c, hw, hw), ))['flops']
    assert stats['flops'] - s0['flops'] == \
        stats['attention']['score'] + stats['attention']['fine'] + kv


def test_model_zoo_table_rows_come_from_get_flops():
    import sys
    sys.path.insert(0, f'{REPO}/tools/analysis_tools')
    try:
        import model_zoo_tables
        from get_flops import complexity_of_config
    finally:
        sys.path.pop(0)
    text = model_zoo_tables.table('demo', (64, 64))
    lines = text.splitlines()
    assert lines[0].startswith('| config | params (M) | GFLOPs @64x64')
    rows = {line.split('|')[1].strip(' `'): line for line in lines[2:]}
    assert len(rows) == 4
    name = 'retinanet_r18_pst-n_1xb8-24e_pst-demo.py'
    stats = complexity_of_config(f'{REPO}/configs/demo/{name}', (64, 64))
    cells = [c.strip() for c in rows[name].split('|')[1:-1]]
    assert cells[1] == f"{stats['params'] / 1e6:.2f}"
    assert cells[2] == f"{stats['flops'] / 1e9:.2f}"
    assert cells[5].split(' / ')[0] == \
        f"{stats['attention']['coarse'] / 1e9:.3f}"
    readme = open(f'{REPO}/README.md').read()
    assert readme.count(model_zoo_tables.BEGIN) == 1
    assert readme.count(model_zoo_tables.END) == 1
