# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/analysis_tools/fusion_scale.py: the table end to end, and the
ratios against a direct measurement."""
import sys

import pytest
import torch

from conftest import REPO, run_tool

PST_CFG = 'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py'
FAST = ['test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False']


def test_table_end_to_end(demo_cls_root):
    out = run_tool(['tools/analysis_tools/fusion_scale.py', PST_CFG,
                    '--batches', '1', '--cfg-options', *FAST],
                   env=dict(PST_DEMO_CLS_ROOT=demo_cls_root)).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith('|')]
    assert lines[0] == '| fusion | PSA 0 |'
    rows = {ln.split('|')[1].strip(): float(ln.split('|')[2])
            for ln in lines[2:]}
    assert set(rows) == {'sum', 'sum_norm', 'mean', 'refine'}
    assert all(r > 0 for r in rows.values())


def _tool():
    sys.path.insert(0, f'{REPO}/tools/analysis_tools')
    try:
        import fusion_scale
    finally:
        sys.path.pop(0)
    return fusion_scale


class _TwoPSA(torch.nn.Module):
    """test_step over (x, u) batches through two PSA layers."""

    def __init__(self, **kw):
        super().__init__()
        from pst_mm.models.layers import PyramidSparseAttention
        self.a = PyramidSparseAttention(64, num_heads=2, topk=0, **kw)
        self.b = PyramidSparseAttention(64, num_heads=2, topk=0, **kw)

    def test_step(self, batch):
        x, u = batch
        return self.a(x, u) + self.b(x, u)


def test_ratios_match_a_direct_measurement():
    tool = _tool()
    torch.manual_seed(0)
    model = _TwoPSA().eval()
    batches = [(torch.randn(2, 64, 8, 10), torch.randn(2, 64, 4, 5))]
    scales = tool.fusion_scales(model, batches, ['sum', 'sum_norm'], topk=3)
    x, u = batches[0]
    with torch.no_grad():
        ref = {}
        for rule in ('coarse', 'sum', 'sum_norm'):
            model.a.topk = 0 if rule == 'coarse' else 3
            model.a.fusion = 'sum' if rule == 'coarse' else rule
            seen = []
            h = model.a.proj.register_forward_hook(
                lambda m, i, o: seen.append(o.pow(2).mean().sqrt().item()))
            model.a(x, u)
            h.remove()
            ref[rule] = seen[0]
    for rule in ('sum', 'sum_norm'):
        assert scales[rule][0] == pytest.approx(ref[rule] / ref['coarse'],
                                                rel=1e-5)
    # the layers' own settings are restored
    assert (model.b.topk, model.b.fusion) == (0, 'sum_norm')


def test_gate_needs_a_gated_model():
    tool = _tool()
    batches = [(torch.randn(1, 64, 8, 8), torch.randn(1, 64, 4, 4))]
    with pytest.raises(ValueError, match="fusion 'gate' needs a model"):
        tool.fusion_scales(_TwoPSA().eval(), batches, ['gate'])
    scales = tool.fusion_scales(_TwoPSA(fusion='gate').eval(), batches,
                                ['gate'])
    assert len(scales['gate']) == 2
    with pytest.raises(ValueError, match='no PyramidSparseAttention'):
        tool.fusion_scales(torch.nn.Linear(2, 2), batches, ['sum'])


def test_bad_arguments_are_named():
    proc = run_tool(['tools/analysis_tools/fusion_scale.py', PST_CFG,
                     '--topk', '0'], check=False)
    assert proc.returncode == 2 and '--topk must be >= 1' in proc.stderr
    proc = run_tool(['tools/analysis_tools/fusion_scale.py', PST_CFG,
                     '--fusions', 'product'], check=False)
    assert proc.returncode == 2 and "invalid choice: 'product'" in \
        proc.stderr
