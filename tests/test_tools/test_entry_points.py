# Copyright (c) pst-mm contributors. All rights reserved.
"""What a new user meets first: the launchers find the project's Python,
the tools print no known third-party warnings, a broken checkpoint gets a
clear message."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _resolve(env):
    """PYTHON as tools/find_python.sh sets it, in a clean bash."""
    cmd = f'source {REPO}/tools/find_python.sh && echo "$PYTHON"'
    proc = subprocess.run(['bash', '-c', cmd], env=env, text=True,
                          capture_output=True)
    return proc.returncode, proc.stdout.strip(), proc.stderr


def test_find_python_uses_the_install_env_when_none_is_active(tmp_path):
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    os.symlink(sys.executable, venv / 'bin' / 'python')
    # a PATH without any python that imports torch
    env = dict(PATH='/usr/bin:/bin', HOME=str(tmp_path),
               PST_MM_VENV=str(venv))
    rc, python, _ = _resolve(env)
    assert rc == 0 and python == str(venv / 'bin' / 'python')
    # an explicit PYTHON wins
    rc, python, _ = _resolve(dict(env, PYTHON='/opt/my/python'))
    assert python == '/opt/my/python'
    # nothing found: a message that says what to do
    rc, _, err = _resolve(dict(env, PST_MM_VENV=str(tmp_path / 'none')))
    assert rc == 1 and 'tools/install.sh' in err


def test_tools_are_quiet_and_name_a_corrupt_checkpoint(tmp_path):
    bad = tmp_path / 'corrupt.pth'
    bad.write_bytes(b'\x00garbage' * 100)
    cfg = 'configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py'
    proc = subprocess.run([sys.executable, 'tools/test.py', cfg, str(bad)],
                          cwd=REPO, text=True, capture_output=True,
                          env=dict(os.environ, PYTHONWARNINGS=''))
    assert proc.returncode != 0
    assert f'checkpoint {bad} is corrupt' in proc.stderr
    assert 'weights_only set to False' not in proc.stderr
    assert 'pkg_resources is deprecated' not in proc.stderr
