# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/deployment/pytorch2onnx.py: PST-DET and PST-CLS, coarse-only and
with fine attention, exported and checked with onnxruntime (in-process: one
import of the OpenMMLab stack for every case). The four parity cases use the
TorchScript exporter (4x faster) except one, which checks the default
dynamo exporter."""
import importlib.util
import os.path as osp

import pytest

from conftest import REPO, load_tool

# The export check needs the ONNX stack (requirements/optional.txt, which
# requirements/tests.txt includes): skipped per test, naming what is missing;
# the option errors below are raised before anything is exported.
MISSING_ONNX = [
    name for name in ('onnx', 'onnxscript', 'onnxruntime')
    if importlib.util.find_spec(name) is None
]
needs_onnx = pytest.mark.skipif(
    bool(MISSING_ONNX),
    reason=f'needs {", ".join(MISSING_ONNX)} (requirements/optional.txt)')

DET_PST = osp.join(REPO,
                   'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py')
CLS_PST = osp.join(REPO, 'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py')
CLS_GAP = osp.join(REPO, 'configs/demo/resnet18_gap_1xb16-30e_pst-demo.py')
DET_SPT = osp.join(REPO,
                   'configs/demo/retinanet_spt-tiny_fpn_1xb8-12e_pst-demo.py')


@pytest.fixture(scope='module')
def tool():
    return load_tool('tools/deployment/pytorch2onnx.py', 'pytorch2onnx')


# Shapes where top-8 really selects: the P3 fusion of PST-DET at 96x80
# attends a 12x10 map to 6x5 = 30 coarse keys, PST-CLS at 128x128 an 8x8
# map to 4x4 = 16. PST-CLS with fine attention goes through the default
# (dynamo) exporter, the other cases through the 4x faster TorchScript one.
@needs_onnx
@pytest.mark.parametrize('config, shape, outputs, topk, exporter', [
    (DET_PST, (96, 80), 10, 0, 'torchscript'),  # 5 x (scores, deltas)
    (DET_PST, (96, 80), 10, 8, 'torchscript'),
    (CLS_PST, (128, 128), 1, 0, 'torchscript'),
    (CLS_PST, (128, 128), 1, 8, 'dynamo'),
])
def test_export_matches_pytorch(tool, tmp_path, capsys, config, shape,
                                outputs, topk, exporter):
    _export_and_check(tool, tmp_path, capsys, config, shape, outputs, topk,
                      exporter)


def _export_and_check(tool, tmp_path, capsys, config, shape, outputs, topk,
                      exporter):
    import onnx
    out = tmp_path / 'model.onnx'
    tool.main([config, '--shape', str(shape[0]), str(shape[1]), '--topk',
               str(topk), '--out', str(out), '--exporter', exporter])
    printed = capsys.readouterr().out
    assert f'({exporter} exporter)' in printed
    assert f'PSA topk [{topk}]' in printed
    assert 'onnxruntime matches PyTorch' in printed
    errors = [float(line.split()[-1]) for line in printed.splitlines()
              if 'max |ort - torch|' in line]
    assert len(errors) == outputs and max(errors) <= 1e-4
    graph = onnx.load(str(out)).graph
    ops = {n.op_type for n in graph.node}
    # only standard ONNX ops; fine attention adds the selection
    assert all(n.domain in ('', 'ai.onnx') for n in graph.node), ops
    assert ('TopK' in ops) == (topk > 0)
    names = [o.name for o in graph.output]
    assert names == (['cls_score'] if outputs == 1 else
                     [f'cls_score_{i}' for i in range(5)] +
                     [f'bbox_pred_{i}' for i in range(5)])


def test_unsupported_option_is_named(tool):
    with pytest.raises(SystemExit) as exc:
        tool.main([DET_SPT, '--shape', '64', '64', '--no-check', '--out',
                   '/nonexistent/x.onnx'])
    assert 'backbone has spa_stages=(2, 3)' in str(exc.value)
    assert 'ONNX export does not support' in str(exc.value)


def test_topk_on_a_model_without_psa_names_the_option(tool):
    with pytest.raises(SystemExit) as exc:
        tool.main([CLS_GAP, '--shape', '64', '64', '--topk', '8',
                   '--no-check', '--out', '/nonexistent/x.onnx'])
    assert '--topk 8' in str(exc.value)
