# Copyright (c) pst-mm contributors. All rights reserved.
"""PST necks have no host sync, host-to-device copy or data-dependent Python
branch in their forward: ``torch.compile(fullgraph=True)`` captures them
whole (any graph break fails), and on a GPU they replay in CUDA graphs."""
import pytest
import torch
from torch.testing import assert_close

import pst_mm  # noqa: F401
from conftest import pyramid_feats
from pst_mm.models.necks import PSTClsNeck, PSTFPN


def _necks():
    torch.manual_seed(0)
    fpn = PSTFPN([16, 32, 64], 32, num_outs=5, embed_channels=(32, 32),
                 add_extra_convs='on_input', pst_cfg=dict(topk=8))
    cls = PSTClsNeck((32, 64), channels=64, pst_cfg=dict(topk=8))
    return dict(
        fpn=(fpn, tuple(pyramid_feats([16, 32, 64], (15, 13)))),
        cls=(cls, (torch.rand(2, 32, 9, 7), torch.rand(2, 64, 5, 4))))


@pytest.mark.parametrize('name', ['fpn', 'cls'])
def test_compile_fullgraph_with_fine_attention(name):
    torch._dynamo.reset()
    neck, feats = _necks()[name]
    neck.eval()
    attns = [m for m in neck.modules() if hasattr(m, 'active_topk')]
    assert attns and all(m.active_topk() == 8 for m in attns)
    compiled = torch.compile(neck, fullgraph=True, backend='eager')
    with torch.no_grad():
        expected = neck(feats)
        got = compiled(feats)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert_close(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
@pytest.mark.parametrize('name', ['fpn', 'cls'])
def test_cuda_graph_replay_equals_eager(name):
    neck, feats = _necks()[name]
    neck = neck.cuda().eval()
    static = tuple(f.cuda() for f in feats)
    with torch.no_grad():
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                neck(static)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outs = neck(static)
        for scale in (1.0, 0.5):  # new inputs, same buffers
            for s, f in zip(static, feats):
                s.copy_(f.cuda() * scale)
            graph.replay()
            torch.cuda.synchronize()
            expected = neck(static)
            for a, b in zip(outs, expected):
                assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_graph_replay_of_pst_det_model():
    """A whole PST-DET RetinaNet, top-8, fp16 autocast: replay == eager."""
    import os.path as osp

    from conftest import REPO
    from pst_mm.models.layers import set_pst_topk
    from pst_mm.utils import build_model_from_config
    _, model = build_model_from_config(
        osp.join(REPO, 'configs', 'demo',
                 'retinanet_r18_pst-n_1xb8-24e_pst-demo.py'))
    assert set_pst_topk(model, 8) > 0
    model = model.cuda().eval()
    img = torch.randn(2, 3, 128, 160, device='cuda')

    def run():
        with torch.autocast('cuda', dtype=torch.float16):
            cls, reg = model(img, mode='tensor')
        return list(cls) + list(reg)

    with torch.no_grad():
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                run()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outs = run()
        img.copy_(torch.randn_like(img))
        graph.replay()
        torch.cuda.synchronize()
        expected = run()
    for a, b in zip(outs, expected):
        assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-3)
