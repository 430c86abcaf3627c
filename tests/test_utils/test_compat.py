# Copyright (c) pst-mm contributors. All rights reserved.
import io
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub

import pst_mm  # noqa: F401  (installs the allowlist)
from pst_mm.utils import CPUCompatibleDDP, adapt_cfg_to_device


def _roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_mmengine_checkpoint_contents_load_weights_only():
    hub = MessageHub.get_instance('pst_mm_compat_test')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', np.int64(3))
    ckpt = dict(
        meta=dict(epoch=1, iter=2, seed=np.int64(7)),
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict(),
        arrays=[np.arange(3, dtype=np.float32),
                np.zeros((2, 2), dtype=np.int64)])
    loaded = _roundtrip(ckpt)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(1.0)
    assert loaded['meta']['seed'] == 7
    np.testing.assert_array_equal(loaded['arrays'][0], np.arange(3))
    assert loaded['arrays'][1].dtype == np.int64


class _GetattrGadget:
    """Pickles as getattr(HistoryBuffer, <name>)."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return (getattr, (HistoryBuffer, self.name))


def test_getattr_is_restricted_to_history_buffer_statistics():
    assert _roundtrip({'m': _GetattrGadget('mean')})['m'] is \
        HistoryBuffer.mean
    for name in ('__init__', 'update', '__class__'):
        with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
            _roundtrip({'m': _GetattrGadget(name)})


def test_unlisted_globals_still_refused():
    class Evil:

        def __reduce__(self):
            return (print, ('pwned', ))

    with pytest.raises(pickle.UnpicklingError, match='print'):
        _roundtrip({'x': Evil()})


def test_amp_switched_off_on_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(
        dict(
            optim_wrapper=dict(
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                optimizer=dict(type='SGD', lr=0.1))))
    adapt_cfg_to_device(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.model_wrapper_cfg.type == 'CPUCompatibleDDP'


def test_cpu_ddp_replaces_only_mmengine_default_wrapper(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(
        optim_wrapper=dict(type='OptimWrapper', clip_grad=None),
        model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                               find_unused_parameters=True)))
    adapt_cfg_to_device(cfg)
    assert cfg.optim_wrapper == dict(type='OptimWrapper', clip_grad=None)
    assert cfg.model_wrapper_cfg == dict(type='CPUCompatibleDDP',
                                         find_unused_parameters=True)
    cfg = Config(dict(model_wrapper_cfg=dict(type='MyWrapper')))
    adapt_cfg_to_device(cfg)
    assert cfg.model_wrapper_cfg == dict(type='MyWrapper')


def test_cuda_configs_untouched(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper')))
    adapt_cfg_to_device(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert 'model_wrapper_cfg' not in cfg


def test_cpu_ddp_drops_device_ids(monkeypatch):
    captured = {}

    def fake_init(self, module, **kwargs):
        captured.update(kwargs)

    monkeypatch.setattr(
        'mmengine.model.MMDistributedDataParallel.__init__', fake_init)
    CPUCompatibleDDP(torch.nn.Linear(2, 2), device_ids=[0],
                     broadcast_buffers=False)
    assert captured == dict(broadcast_buffers=False)
