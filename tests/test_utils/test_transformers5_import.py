# Copyright (c) pst-mm contributors. All rights reserved.
"""``import pst_mm`` where transformers >= 5 is installed.

mmpretrain 1.2 turns its multimodal models on for ``transformers>=4.28``
and their modules then fail on names that transformers 5 removed. A fake
transformers 5 (a package without those names plus its dist-info) first on
``sys.path`` of a fresh interpreter reproduces this.
"""
import os
import subprocess
import sys

from conftest import REPO


# Any name imported from these modules exists, as in transformers 5 (a
# placeholder model class, which mmpretrain's registration accepts), except
# what transformers 5 removed from modeling_utils.
_ANY_NAME = (
    'from transformers.modeling_utils import PreTrainedModel\n'
    'def __getattr__(name):\n'
    "    if name.startswith('__'):\n"
    '        raise AttributeError(name)\n'
    '    return type(name, (PreTrainedModel, ), {})\n')
_MODULES = ('__init__', 'activations', 'modeling_outputs', 'utils/__init__',
            'models/__init__', 'models/auto/__init__',
            'models/auto/auto_factory', 'models/bert/__init__',
            'models/bert/configuration_bert')


def _fake_transformers(root):
    pkg = root / 'transformers'
    for name in _MODULES:
        path = pkg / f'{name}.py'
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_ANY_NAME)
    (pkg / '__init__.py').write_text("__version__ = '5.0.0'\n" + _ANY_NAME)
    # apply_chunking_to_forward, find_pruneable_heads_and_indices: removed
    (pkg / 'modeling_utils.py').write_text(
        'class PreTrainedModel:\n'
        '    @classmethod\n'
        '    def from_pretrained(cls, *args, **kwargs):\n'
        '        return cls()\n'
        '    from_config = from_pretrained\n'
        'PreTrainedModel.config_class = PreTrainedModel\n')
    info = root / 'transformers-5.0.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\n'
                                   'Name: transformers\nVersion: 5.0.0\n')
    (info / 'top_level.txt').write_text('transformers\n')


def _run(code, path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [str(path)] + [p for p in [env.get('PYTHONPATH')] if p])
    return subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_works_with_transformers_5(tmp_path):
    """One fresh interpreter: mmpretrain's own check would turn multimodal
    on, the names its BLIP module imports are missing (so ``import
    mmpretrain.models`` alone fails with ``class
    BertPreTrainedModel(PreTrainedModel): TypeError: NoneType takes no
    arguments``), and ``import pst_mm`` still works."""
    _fake_transformers(tmp_path)
    proc = _run(
        'import importlib.metadata as m\n'
        "assert m.version('transformers') == '5.0.0'\n"
        'try:\n'
        '    from transformers.modeling_utils import '
        'apply_chunking_to_forward\n'
        "    raise SystemExit('the fake transformers is not version 5')\n"
        'except ImportError:\n'
        '    pass\n'
        'import pst_mm, mmdet.models, mmpretrain.models\n'
        'from mmpretrain.utils import dependency\n'
        'from mmpretrain.registry import MODELS\n'
        'from pst_mm.models.necks import PSTClsNeck, PSTFPN\n'
        "assert dependency.satisfy_requirement('transformers>=4.28.0')\n"
        'assert dependency.WITH_MULTIMODAL is False\n'
        "assert MODELS.get('ImageClassifier') is not None\n"
        "print('OK')\n", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('OK')


def test_no_change_without_transformers_5():
    from pst_mm.utils.import_hooks import mmpretrain_multimodal_blocker
    import importlib.metadata as m
    try:
        major = int(m.version('transformers').split('.')[0])
    except m.PackageNotFoundError:
        major = 0
    assert (mmpretrain_multimodal_blocker() is None) == (major < 5)
