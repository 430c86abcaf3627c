# Copyright (c) pst-mm contributors. All rights reserved.
"""The Triton selection-score kernel against the float64 dense reference.

On CPU it runs under Triton's interpreter, which must be switched on before
Triton is imported: those checks run in a subprocess.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys
import warnings

import pytest
import torch
from torch.testing import assert_close

import pst_mm.models.layers.psa_kernel as psa
from pst_mm.models.layers import pyramid_sparse_attention
from conftest import REPO
from test_psa_kernel import dense_reference, make_inputs

# Per test, with a reason: the file imports (and its Triton-free tests run)
# on torch builds without Triton. Triton ships with the CUDA torch wheels that
# tools/install.sh installs, so CI runs the interpreter tests on CPU.
needs_triton = pytest.mark.skipif(
    importlib.util.find_spec('triton') is None,
    reason='needs triton (installed with the CUDA builds of torch)')

# Runs in a fresh interpreter with TRITON_INTERPRET=1; prints one JSON line.
# Only the two kernel files are loaded: the full package (mmcv, mmdet,
# mmpretrain) would take most of the test's time.
INTERPRETER_SCRIPT = r'''
import json, math, os, sys, types
import torch
for name in ('pst_mm', 'pst_mm.models', 'pst_mm.models.layers'):
    pkg = types.ModuleType(name)
    pkg.__path__ = [os.path.join(os.getcwd(), *name.split('.'))]
    sys.modules[name] = pkg
import pst_mm.models.layers.psa_kernel as psa
from pst_mm.models.layers import psa_triton
layers = sys.modules['pst_mm.models.layers']
layers.pyramid_sparse_attention = psa.pyramid_sparse_attention
layers.pyramid_sparse_attention_parts = psa.pyramid_sparse_attention_parts
pyramid_sparse_attention = psa.pyramid_sparse_attention
sys.path.insert(0, 'tests/test_models/test_layers')
from test_psa_kernel import dense_reference, make_inputs
assert 'mmcv' not in sys.modules and 'mmdet' not in sys.modules

import warnings
caught = warnings.catch_warnings(record=True)
fallbacks = caught.__enter__()
warnings.simplefilter('default')
res = {}
g = torch.Generator().manual_seed(0)
# odd sizes, several heads, batch > 1; half precision on the first only
for B, h, H, W, d, dtypes in ((2, 3, 7, 9, 8, ('float32', 'float16',
                                                'bfloat16')),
                              (3, 2, 5, 11, 24, ('float32', ))):
    N, M = H * W, ((H + 1) // 2) * ((W + 1) // 2)
    q = torch.randn(B, h, N, d, generator=g) * 2
    k = torch.randn(B, h, M, d, generator=g) * 2
    scale = d ** -0.5
    for name in dtypes:
        dt = getattr(torch, name)
        qd, kd = q.to(dt), k.to(dt)
        logits = qd.double() @ kd.double().transpose(-2, -1) * scale
        ref = logits.softmax(-1).mean(-2)
        lse = torch.logsumexp(logits, -1).float()
        out = psa_triton.triton_selection_scores(qd, kd, lse, scale)
        rel = ((out.double() - ref).abs() / ref).max().item()
        res[f'{name} {B}x{h}x{N}x{M}x{d}'] = rel
    assert out.dtype == torch.float32 and out.shape == (B, h, M)

# the whole kernel with impl='triton': scores from Triton, nothing logged
calls = []
original = psa_triton.triton_selection_scores
def counting(*a):
    calls.append(1)
    return original(*a)
psa_triton.triton_selection_scores = counting
inputs = make_inputs(B=2, h=3, H=7, W=9, scale=2.0)
out = pyramid_sparse_attention(**inputs, topk=5, impl='triton')
ref = dense_reference(**inputs, topk=5)
res['psa'] = ((out.double() - ref).abs().max() / ref.abs().max()).item()
parts = psa.pyramid_sparse_attention_parts(**inputs, topk=5, impl='triton')
naive = psa.pyramid_sparse_attention_parts(**inputs, topk=5, impl='naive')
res['psa_indices_equal'] = bool(torch.equal(parts.indices, naive.indices))
res['kernel_calls'] = len(calls)
# torch.compile(fullgraph=True) sees the kernel as one opaque custom op
with torch.no_grad():
    compiled = torch.compile(
        lambda *t: pyramid_sparse_attention(*t, inputs['fine_hw'],
                                            inputs['coarse_hw'], topk=5,
                                            impl='triton'),
        fullgraph=True, backend='eager')
    got = compiled(*(inputs[n] for n in ('q', 'k', 'v', 'k_fine', 'v_fine')))
res['compiled_equal'] = bool(torch.equal(got, out))
res['fallbacks'] = [str(w.message) for w in fallbacks
                   if 'Triton' in str(w.message)]
print('RESULT ' + json.dumps(res))
'''


@needs_triton
def test_kernel_matches_dense_reference_under_interpreter():
    env = dict(os.environ, TRITON_INTERPRET='1', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', INTERPRETER_SCRIPT],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    lines = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
    assert proc.returncode == 0 and lines, proc.stderr[-4000:]
    res = json.loads(lines[-1][len('RESULT '):])
    rel = {k: v for k, v in res.items() if k.split()[0] in (
        'float32', 'float16', 'bfloat16')}
    assert len(rel) == 4
    for case, err in rel.items():
        assert err < 1e-5, (case, err)
    assert res['psa'] < 1e-5
    assert res['psa_indices_equal']
    assert res['kernel_calls'] == 2 and res['fallbacks'] == []
    assert res['compiled_equal']


@pytest.fixture
def fallback_warnings():
    """The Triton fallback warnings, under Python's default filter (each
    distinct reason once), as a user sees them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('default')
        yield lambda: [
            str(w.message) for w in caught if 'Triton' in str(w.message)
        ]


@needs_triton
def test_unsupported_dtype_falls_back_with_one_warning(fallback_warnings):
    inputs = make_inputs(B=2, h=2, H=7, W=9, scale=2.0)
    inputs = {
        k: (v.double() if torch.is_tensor(v) else v)
        for k, v in inputs.items()
    }
    ref = dense_reference(**inputs, topk=5)
    for _ in range(2):
        out = pyramid_sparse_attention(**inputs, topk=5, impl='triton')
        assert out.dtype == torch.float64
        assert_close(out, ref, rtol=1e-10, atol=1e-10)
    records = fallback_warnings()
    assert len(records) == 1, records
    assert 'torch.float64' in records[0]


@needs_triton
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU case')
def test_cpu_tensors_fall_back_with_one_warning(fallback_warnings,
                                                monkeypatch):
    from pst_mm.models.layers import psa_triton
    monkeypatch.setattr(psa_triton, 'INTERPRETER', False)
    inputs = make_inputs(B=2, h=2, H=7, W=9, scale=2.0)
    out = pyramid_sparse_attention(**inputs, topk=5, impl='triton')
    pyramid_sparse_attention(**inputs, topk=5, impl='triton')
    assert_close(out.double(), dense_reference(**inputs, topk=5), rtol=1e-4,
                 atol=1e-5)
    records = fallback_warnings()
    assert len(records) == 1 and 'cpu' in records[0]
    # 'auto' never picks Triton for CPU tensors: nothing more is reported.
    pyramid_sparse_attention(**inputs, topk=5, impl='auto')
    assert len(fallback_warnings()) == 1


def test_auto_picks_triton_on_cuda_only():
    assert psa._resolve_impl('auto', torch.device('cuda')) == 'triton'
    assert psa._resolve_impl('auto', torch.device('cpu')) == 'sdpa'
    assert psa._resolve_impl('naive', torch.device('cuda')) == 'naive'


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a CUDA GPU')


@needs_triton
@needs_cuda
@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16,
                                   torch.float32])
def test_cuda_kernel_at_paper_shapes(dtype):
    """640x640 input, P3 fusion: fine 80x80, coarse 40x40, 4 heads x 32;
    and a 100x168 fine map (Table 4f's 800x1333)."""
    from pst_mm.models.layers.psa_triton import triton_selection_scores
    g = torch.Generator().manual_seed(0)
    for B, H, W in ((2, 80, 80), (1, 100, 168)):
        N, M = H * W, ((H + 1) // 2) * ((W + 1) // 2)
        q = (torch.randn(B, 4, N, 32, generator=g) * 2).to(dtype).cuda()
        k = (torch.randn(B, 4, M, 32, generator=g) * 2).to(dtype).cuda()
        scale = 32**-0.5
        logits = q.double() @ k.double().transpose(-2, -1) * scale
        ref = logits.softmax(-1).mean(-2)
        lse = torch.logsumexp(logits, -1).float()
        out = triton_selection_scores(q, k, lse, scale).double()
        assert_close(out, ref, rtol=1e-5, atol=1e-5 / M)
        # with the LSE of the coarse pass itself
        fused = psa._fused_attention_lse(q, k, k, scale)
        assert fused is not None
        out = triton_selection_scores(q, k, fused[1], scale).double()
        assert_close(out, ref, rtol=1e-3, atol=1e-3 / M)


@needs_triton
@needs_cuda
@pytest.mark.parametrize('impl', ['triton', 'auto'])
def test_cuda_psa_with_triton_scores_matches_dense_reference(impl):
    inputs = make_inputs(B=2, h=3, H=13, W=18, d=32, scale=2.0)
    cuda = {k: (v.cuda() if torch.is_tensor(v) else v)
            for k, v in inputs.items()}
    naive = psa.pyramid_sparse_attention_parts(**cuda, topk=8, impl='naive')
    parts = psa.pyramid_sparse_attention_parts(**cuda, topk=8, impl=impl)
    assert_close(parts.scores, naive.scores, rtol=1e-4, atol=1e-6)
    out = pyramid_sparse_attention(**cuda, topk=8, impl=impl)
    ref = dense_reference(**inputs, topk=8)
    assert_close(out.double().cpu(), ref, rtol=2e-3, atol=2e-3)
    assert math.isfinite(out.float().abs().max().item())
