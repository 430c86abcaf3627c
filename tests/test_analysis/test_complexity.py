# Copyright (c) pst-mm contributors. All rights reserved.
import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn

from conftest import REPO, run_tool
from pst_mm.models.layers import (MeanAffinityAttention,
                                  PyramidSparseAttention,
                                  SparseAttentionBlock,
                                  content_aware_reassembly)
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


@pytest.mark.parametrize('fusion', ['gate', 'refine'])
@pytest.mark.parametrize('H, W, topk', [(12, 16, 0), (12, 16, 3), (9, 7, 2)])
def test_attention_terms(H, W, topk, fusion):
    h, d = 2, 16
    attn = PyramidSparseAttention(
        h * d, num_heads=h, topk=topk, fusion=fusion).eval()
    Hu, Wu = (H + 1) // 2, (W + 1) // 2
    N, M = H * W, Hu * Wu
    stats = count_complexity(
        attn, (torch.rand(1, h * d, H, W), torch.rand(1, h * d, Hu, Wu)))
    # the portable score route was chosen for the count only
    assert attn.fused_scores is True
    # q k^T and P v: 2 matmuls of N x M x d per head, 2 FLOPs per MAC.
    assert stats['attention']['coarse'] == 4 * N * M * d * h
    if topk:
        # The score pass recomputes q k^T; fine attends to 4k tokens.
        assert stats['attention']['score'] == 2 * N * M * d * h
        fine = 4 * N * (4 * topk) * d * h
        if fusion == 'refine':  # A_sel = exp(q k_sel^T - lse), A_sel v_sel
            fine += 4 * N * topk * d * h
        assert stats['attention']['fine'] == fine
    else:
        assert stats['attention']['score'] == stats['attention']['fine'] == 0
    assert stats['flops'] > sum(stats['attention'].values())
    if fusion == 'gate':
        # The official gate over the paper's sum: a linear 2d -> d per head
        # and query, only when fine attention runs.
        summed = count_complexity(
            PyramidSparseAttention(h * d, num_heads=h, topk=topk,
                                   fusion='sum').eval(),
            (torch.rand(1, h * d, H, W), torch.rand(1, h * d, Hu, Wu)))
        gate = 2 * N * h * (2 * d) * d if topk else 0
        assert stats['flops'] - summed['flops'] == gate


class _Reassemble(nn.Module):

    def forward(self, x, kernels):
        return content_aware_reassembly(x, kernels)


def test_baseline_attention_ops_are_counted():
    """The baselines' einsum-based ops enter the FLOPs like convs do (the
    elementwise gates are not counted, as in mmengine)."""
    C, k, h, w = 8, 5, 6, 7
    stats = count_complexity(
        _Reassemble(),
        (torch.rand(1, C, h, w), torch.rand(1, k * k, 2 * h, 2 * w)))
    assert stats['macs'] == C * k * k * 2 * h * 2 * w
    # Sparse attention: heat, query and output 1x1 convs over the map, key
    # and value projections of the K peaks only, q k^T and P v over them.
    sa = SparseAttentionBlock(16, key_channels=8, num_points=5).eval()
    N, d, K = 9 * 8, 8, 5
    convs = N * 16 * (1 + d) + K * 16 * 2 * d + N * d * 16
    stats = count_complexity(sa, (torch.rand(1, 16, 9, 8), ))
    assert stats['macs'] == convs + 2 * N * K * d
    # Mean-affinity gate: 3 1x1 convs plus q . mean(k), O(N d).
    ma = MeanAffinityAttention(16, reduction=4).eval()
    stats = count_complexity(ma, (torch.rand(1, 16, 9, 8), ))
    assert stats['macs'] == N * 16 * (4 + 4 + 16) + N * 4


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
    # Fine attention adds the score and fine passes and the shared K/V
    # projection applied to X (demo neck: C' 64 at 16x16, 128 at 8x8); the
    # default sum fusion is an elementwise add, which the counter leaves out.
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
    assert len(rows) == len(glob.glob(f'{REPO}/configs/demo/*.py'))
    name = 'retinanet_r18_pst-n_1xb8-24e_pst-demo.py'
    stats = complexity_of_config(f'{REPO}/configs/demo/{name}', (64, 64))
    cells = [c.strip() for c in rows[name].split('|')[1:-1]]
    assert cells[1] == f"{stats['params'] / 1e6:.2f}"
    assert cells[2] == f"{stats['flops'] / 1e9:.2f}"
    assert cells[5].split(' / ')[0] == \
        f"{stats['attention']['coarse'] / 1e9:.3f}"
    # tests/test_docs.py regenerates every page's tables and the metafiles
    # and fails on any difference with what is committed.


def test_neck_comparison_rows_come_from_get_flops():
    import sys
    sys.path.insert(0, f'{REPO}/tools/analysis_tools')
    try:
        import model_zoo_tables
        from get_flops import complexity_of_config
    finally:
        sys.path.pop(0)
    # The README comparison: FPN first, all five baselines, PST-DET last.
    rows = model_zoo_tables.BASELINE_ROWS
    assert rows[0].endswith('retinanet_r50_fpn_1x_coco.py')
    assert rows[-1].endswith('retinanet_r50_pst-n_1x_coco.py')
    assert len(rows) == 7 and all(osp.exists(f'{REPO}/{p}') for p in rows)
    paths = [
        'configs/demo/retinanet_r18_fpn_1xb8-24e_pst-demo.py',
        'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py'
    ]
    lines = model_zoo_tables.neck_comparison(paths, (64, 64)).splitlines()
    assert lines[0].startswith('| config | neck | params (M) | GFLOPs @64x64')
    fpn, pst = (complexity_of_config(f'{REPO}/{p}', (64, 64)) for p in paths)
    cells = [c.strip() for c in lines[3].split('|')[1:-1]]
    assert cells[1] == '`PSTFPN`'
    assert cells[3] == f"{pst['flops'] / 1e9:.2f}"
    assert cells[6] == f"{(pst['flops'] - fpn['flops']) / 1e9:+.2f}"
    assert lines[2].split('|')[-2].strip() == '+0.00'


def test_paper_rows_put_ours_beside_the_paper():
    import sys
    sys.path.insert(0, f'{REPO}/tools/analysis_tools')
    try:
        import model_zoo_tables
        from get_flops import complexity_of_config
    finally:
        sys.path.pop(0)
    paths = model_zoo_tables.paper_configs()
    assert len(paths) == len(model_zoo_tables.PAPER)
    name = 'bottleneck-r18_pst-n_8xb32-200e_in1k.py'
    path = next(p for p in paths if p.endswith(name))
    lines = model_zoo_tables.paper_table([path], (64, 64)).splitlines()
    assert lines[0].startswith('| config | paper | params (M) | paper params')
    stats = complexity_of_config(f'{REPO}/{path}', (64, 64))
    cells = [c.strip() for c in lines[2].split('|')[1:-1]]
    params = stats['params'] / 1e6
    assert cells[1] == 'Table 3' and cells[3] == '19.6'
    assert cells[2] == f'{params:.2f}'
    assert cells[4] == f'{(params - 19.6) / 19.6:+.1%}'
    assert abs(float(cells[4].rstrip('%'))) < 1.0  # within 1 % of the paper
