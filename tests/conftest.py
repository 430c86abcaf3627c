# Copyright (c) pst-mm contributors. All rights reserved.
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def demo_det_root(tmp_path_factory):
    """A tiny copy of the detection demo set (real photographs)."""
    from pst_mm.datasets import build_det_demo
    root = tmp_path_factory.mktemp('pst_demo_det')
    build_det_demo(str(root), num_train=16, num_val=8, img_size=128)
    return str(root) + '/'


@pytest.fixture(scope='session')
def demo_cls_root(tmp_path_factory):
    """A tiny copy of the classification demo set (real photographs)."""
    from pst_mm.datasets import build_cls_demo
    root = tmp_path_factory.mktemp('pst_demo_cls')
    build_cls_demo(
        str(root), num_train_per_class=8, num_val_per_class=4, img_size=96)
    return str(root) + '/'


def run_tool(args, env=None, timeout=600, check=True):
    """Run a repo tool with this interpreter, from the repo root."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault('OMP_NUM_THREADS', '2')
    cmd = args if args[0] == 'bash' else [sys.executable] + list(args)
    proc = subprocess.run(
        cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
        timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(cmd)} failed ({proc.returncode}):\n'
            f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


def free_port() -> str:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def pyramid_feats(channels, size=(32, 40), batch=2):
    """Random backbone features, one per channel count, each level
    ``ceil``-halving the previous one from ``size`` (as stride-2 stages
    do)."""
    import torch
    H, W = size
    feats = []
    for c in channels:
        feats.append(torch.rand(batch, c, H, W))
        H, W = (H + 1) // 2, (W + 1) // 2
    return feats


def load_tool(path: str, name: str):
    """Import the tool script ``path`` (relative to the repo) as module
    ``name``, to call its functions in-process."""
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
