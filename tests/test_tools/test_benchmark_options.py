# Copyright (c) pst-mm contributors. All rights reserved.
"""benchmark.py's --amp, --cuda-graph, --compile and --profile, run
in-process on a tiny PST-DET neck (the memory subprocesses of a full run are
covered by tests/test_analysis)."""
import os.path as osp

import pytest
import torch

from conftest import REPO, load_tool

DET_PST = osp.join(REPO,
                   'configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py')


@pytest.fixture(scope='module')
def bench():
    return load_tool('tools/analysis_tools/benchmark.py', 'pst_benchmark')


@pytest.mark.parametrize('argv, message', [
    (['--cuda-graph'], '--cuda-graph needs --device cuda'),
    (['--mode', 'train', '--amp', 'bf16'], 'do not apply to --mode train'),
    (['--compile-mode', 'max-autotune'], '--compile-mode needs --compile'),
    (['--profile', '0'], '--profile takes a positive number'),
])
@pytest.mark.skipif(torch.cuda.is_available(), reason='checks CPU errors')
def test_options_that_cannot_apply_name_themselves(bench, capsys, argv,
                                                   message):
    with pytest.raises(SystemExit) as exc:
        bench.parse_args([DET_PST] + argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks CPU errors')
def test_cuda_device_without_cuda_is_an_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args([DET_PST, '--device', 'cuda'])
    assert 'CUDA is not available' in capsys.readouterr().err


def test_amp_compile_and_profile_on_the_neck(bench, capsys):
    torch._dynamo.reset()
    args = bench.parse_args([
        DET_PST, '--part', 'neck', '--shape', '64', '64', '--topk', '8',
        '--amp', 'bf16', '--compile', 'eager', '--profile', '5'
    ])
    variants = bench.build_variants(args)
    assert [(v['topk'], v['impl']) for v in variants] == [(8, '-')]
    outs = variants[0]['fn']()
    # the neck ran under bf16 autocast, through torch.compile
    assert len(outs) == 5 and outs[0].dtype == torch.bfloat16
    assert isinstance(variants[0]['model'].neck, torch.nn.Module)
    bench.profile_variants(variants, args)
    out = capsys.readouterr().out
    assert 'top 5 ops by CPU self time' in out
    table = out.split('top 5 ops by CPU self time', 1)[1]
    assert 'Self CPU' in table
