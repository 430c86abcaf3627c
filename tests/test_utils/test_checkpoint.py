# Copyright (c) pst-mm contributors. All rights reserved.
import argparse
import os

import pytest
import torch
from mmengine.logging import HistoryBuffer

import pst_mm  # noqa: F401  (allowlists mmengine's checkpoint types)
from pst_mm.utils import check_checkpoint_file


def _good(path):
    buffer = HistoryBuffer()
    buffer.update(1.0)
    torch.save(dict(state_dict=dict(w=torch.ones(3)),
                    message_hub=dict(log=buffer)), path)
    return str(path)


def test_valid_checkpoint_passes(tmp_path):
    check_checkpoint_file(_good(tmp_path / 'ok.pth'))


def test_truncated_checkpoint(tmp_path):
    path = _good(tmp_path / 'ok.pth')
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match='corrupt, truncated or not a '
                       'PyTorch checkpoint') as info:
        check_checkpoint_file(str(cut))
    assert 'weights_only set to False' not in str(info.value)


@pytest.mark.parametrize('content', [b'not a checkpoint at all\n' * 50,
                                     bytes(range(256)) * 8])
def test_random_file(tmp_path, content):
    path = tmp_path / 'random.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match='corrupt') as info:
        check_checkpoint_file(str(path))
    assert 'weights_only set to False' not in str(info.value)


def test_empty_and_missing(tmp_path):
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(ValueError, match='empty'):
        check_checkpoint_file(str(tmp_path / 'empty.pth'))
    with pytest.raises(FileNotFoundError, match='not found'):
        check_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_object_outside_the_allowlist_is_named_and_stays_refused(tmp_path):
    path = tmp_path / 'odd.pth'
    torch.save(dict(meta=argparse.Namespace(a=1)), path)
    with pytest.raises(ValueError, match='safe loading does not allow.*'
                       'add_safe_globals') as info:
        check_checkpoint_file(str(path))
    assert 'Namespace' in str(info.value)
    assert os.path.getsize(path) > 0
