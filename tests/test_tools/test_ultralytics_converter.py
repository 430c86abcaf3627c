# Copyright (c) pst-mm contributors. All rights reserved.
"""tools/model_converters/ultralytics_to_pstmm.py against the reference
code: checkpoints that ultralytics 8.3.105 saves (YOLO11) and the PST
authors' fixtures (tests/data/p2hct, made by their code) convert and
reproduce the reference raw outputs; malicious and broken files are
refused before anything in them runs."""
import copy
import hashlib
import os
import os.path as osp

import pytest
import torch
from conftest import REPO, run_tool
from ultralytics_reference import (import_ultralytics, needs_ultralytics,
                                   reference_weights)

from pst_mm.utils import (build_model_from_config, check_checkpoint_file,
                          check_checkpoint_fits)
from pst_mm.utils.ultralytics_checkpoint import (
    ARCH_CONFIGS, UltralyticsCheckpointError, convert_ultralytics,
    load_ultralytics_checkpoint, recognise_architecture)

TOOL = 'tools/model_converters/ultralytics_to_pstmm.py'
FIXTURES = osp.join(REPO, 'tests', 'data', 'p2hct')
P2HCT = ['yolo11n-pst', 'yolo11s-pst', 'yolo11m-pst', 'r18-pst', 'r50-pst',
         'r101-pst']


def _save_released(model, path, names=None):
    """Save ``model`` as a released best.pt: ultralytics' own
    strip_optimizer on a last.pt laid out as its trainer saves one."""
    from ultralytics.utils.torch_utils import strip_optimizer
    # what the trainer's set_model_attributes attaches
    model.nc = model.yaml['nc']
    model.names = names or {i: f'class{i}' for i in range(model.nc)}
    torch.save(dict(epoch=2, best_fitness=0.1, model=None,
                    ema=copy.deepcopy(model), updates=10, optimizer=None,
                    train_args={}), path)
    strip_optimizer(str(path))


def _ultralytics_model(yaml_name, nc=None, task='detect'):
    import_ultralytics()
    from ultralytics.nn import tasks
    cls = dict(detect=tasks.DetectionModel, classify=tasks.ClassificationModel,
               segment=tasks.SegmentationModel)[task]
    model = cls(yaml_name, nc=nc, verbose=False)
    model.load_state_dict(reference_weights(model))
    return model.eval()


def _our_raw(model, x):
    """Our raw per-level maps as Ultralytics' Detect lays them out:
    ``cat[box bins, class logits]``."""
    with torch.no_grad():
        cls, box = model.bbox_head(model.neck(model.backbone(x)))
    return [torch.cat([b, c], 1) for b, c in zip(box, cls)]


def _convert(path, config=None, nc=80):
    ckpt = load_ultralytics_checkpoint(str(path))
    family = recognise_architecture(ckpt['model'].yaml)
    config = config or osp.join(REPO, ARCH_CONFIGS[family])
    options = {} if nc == 80 else {'model.bbox_head.num_classes': nc}
    _, model = build_model_from_config(config, options)
    model.load_state_dict(convert_ultralytics(ckpt, model), strict=True)
    return ckpt, family, model


def _max_rel_error(ref, ours):
    return max(((a - b).abs().max() / a.abs().max()).item()
               for a, b in zip(ref, ours))


@needs_ultralytics
@pytest.mark.parametrize('scale', ['n', 's', 'm', 'l', 'x'])
def test_yolo11_checkpoints_saved_by_ultralytics_reproduce_its_outputs(
        scale, tmp_path):
    torch.manual_seed(0)
    reference = _ultralytics_model(f'yolo11{scale}.yaml')
    path = tmp_path / f'yolo11{scale}.pt'
    _save_released(reference, path)
    # what Ultralytics itself loads from the file: fp16 weights, fp32 run
    released = torch.load(path, weights_only=False)['model'].float().eval()
    assert next(released.parameters()).dtype == torch.float32
    ckpt, family, ours = _convert(path)
    assert family == ('yolo11', scale)
    assert sum(p.numel() for p in ours.parameters()) == sum(
        p.numel() for p in released.parameters())
    x = torch.rand(2, 3, 96, 160)  # neither side a multiple of 64
    with torch.no_grad():
        ref = released(x)[1]
    ours_raw = _our_raw(ours.eval(), x)
    assert [o.shape for o in ours_raw] == [r.shape for r in ref]
    assert _max_rel_error(ref, ours_raw) <= 1e-4
    # fp16 weights arrive exactly
    assert torch.equal(
        ours.backbone.stages[0][0].conv.weight,
        released.model[0].conv.weight)


def _p2hct(name):
    ckpt = load_ultralytics_checkpoint(osp.join(FIXTURES, f'{name}.pt'))
    # the fixture holds the classes and shapes; refill the weights its
    # outputs were made with
    ckpt['model'].load_state_dict(reference_weights(ckpt['model']),
                                  assign=True)
    io = torch.load(osp.join(FIXTURES, f'{name}_io.pt'), weights_only=True)
    x = torch.load(osp.join(FIXTURES, 'input.pt'),
                   weights_only=True)['input']
    return ckpt, io, x


@pytest.mark.parametrize('name', P2HCT)
def test_the_authors_models_reproduce_their_outputs_at_topk_0_and_8(name):
    ckpt, io, x = _p2hct(name)
    family = recognise_architecture(ckpt['model'].yaml)
    _, ours = build_model_from_config(osp.join(REPO, ARCH_CONFIGS[family]))
    ours.load_state_dict(convert_ultralytics(ckpt, ours), strict=True)
    assert sum(p.numel() for p in ours.parameters()) == io['params']
    for topk in (0, 8):
        for pst in ours.neck.top_down:
            for block in pst.blocks:
                block.attn.topk = topk
        assert _max_rel_error(io['raw'][topk], _our_raw(ours, x)) <= 1e-4
    # fine attention really ran: top-8 differs from coarse-only
    assert not torch.allclose(io['raw'][0][0], io['raw'][8][0])


def test_without_the_kv_permutation_the_authors_pst_does_not_match(
        monkeypatch):
    """The per-head [k_h | v_h] layout is what makes the match: relabel the
    K/V channels as pst-mm's [all K | all V] and the outputs differ."""
    import pst_mm.utils.ultralytics_checkpoint as uc
    ckpt, io, x = _p2hct('yolo11n-pst')
    monkeypatch.setattr(
        uc, '_kv_permutation',
        lambda heads, dim: torch.arange(2 * heads * dim))
    _, ours = build_model_from_config(
        osp.join(REPO, ARCH_CONFIGS[('yolo11-pst', 'n')]))
    ours.load_state_dict(uc.convert_ultralytics(ckpt, ours))
    for pst in ours.neck.top_down:
        for block in pst.blocks:
            block.attn.topk = 0
    assert _max_rel_error(io['raw'][0], _our_raw(ours, x)) > 1e-3


@needs_ultralytics
def test_tool_writes_an_mmengine_checkpoint_with_meta(tmp_path):
    reference = _ultralytics_model('yolo11n.yaml')
    src = tmp_path / 'yolo11n.pt'
    _save_released(reference, src)
    out = tmp_path / 'yolo11n_pstmm.pth'
    proc = run_tool([TOOL, str(src), str(out)])
    assert 'config: configs/yolo_pst/yolo11-n_8xb16-600e_coco.py' in \
        proc.stdout
    ckpt = torch.load(out, weights_only=True)  # plain types only
    meta = ckpt['meta']
    assert meta['ultralytics']['sha256'] == hashlib.sha256(
        src.read_bytes()).hexdigest()
    assert meta['ultralytics']['version'] == '8.3.105'
    assert meta['ultralytics']['topk'] == []  # no PST in YOLO11
    assert meta['dataset_meta']['classes'][:2] == ('class0', 'class1')
    assert all(v.dtype in (torch.float32, torch.int64)
               for v in ckpt['state_dict'].values())
    # fits its config; refused by another size's, with the hint
    _, model = build_model_from_config(
        osp.join(REPO, 'configs/yolo_pst/yolo11-n_8xb16-600e_coco.py'),
        device='meta')
    check_checkpoint_fits(check_checkpoint_file(str(out)), str(out), model)
    proc = run_tool(['tools/test.py',
                     'configs/yolo_pst/yolo11-s_8xb16-600e_coco.py',
                     str(out)], check=False)
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert 'does not fit this config' in proc.stderr
    assert 'converted from yolo11n.yaml' in proc.stderr
    # never overwrites without asking
    proc = run_tool([TOOL, str(src), str(out)], check=False)
    assert proc.returncode == 1 and 'pass --overwrite' in proc.stderr


def test_the_authors_topk_is_carried(tmp_path):
    out = tmp_path / 'r18.pth'
    proc = run_tool([TOOL, osp.join(FIXTURES, 'r18-pst.pt'), str(out)])
    assert 'config: configs/yolo_pst/yolo_r18_pst-n_8xb16-600e_coco.py' in \
        proc.stdout
    meta = torch.load(out, weights_only=True)['meta']
    assert meta['ultralytics']['topk'] == 0  # trained coarse-only
    assert meta['ultralytics']['yaml_file'] == 'r18-pst.yaml'
    assert meta['dataset_meta']['classes'][0] == 'person'


@needs_ultralytics
def test_other_class_counts_are_carried(tmp_path):
    names = {0: 'cat', 1: 'dog', 2: 'bird'}
    reference = _ultralytics_model('yolo11n.yaml', nc=3)
    src = tmp_path / 'pets.pt'
    _save_released(reference, src, names)
    out = tmp_path / 'pets.pth'
    proc = run_tool([TOOL, str(src), str(out)])
    assert '--cfg-options model.bbox_head.num_classes=3' in proc.stdout
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['meta']['dataset_meta']['classes'] == ('cat', 'dog', 'bird')
    assert ckpt['state_dict']['bbox_head.cls_convs.0.2.weight'].shape[0] == 3
    _, _, ours = _convert(src, nc=3)
    x = torch.rand(1, 3, 64, 96)
    released = torch.load(src, weights_only=False)['model'].float().eval()
    with torch.no_grad():
        ref = released(x)[1]
    assert _max_rel_error(ref, _our_raw(ours.eval(), x)) <= 1e-4


class _RunsCode:
    """Unpickling this calls os.system: a malicious checkpoint."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _refused(path, *needles):
    with pytest.raises(UltralyticsCheckpointError) as err:
        load_ultralytics_checkpoint(str(path))
    msg = str(err.value)
    assert '\n' not in msg and str(path) in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


@needs_ultralytics
def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / 'ran'
    evil = tmp_path / 'evil.pt'
    torch.save({'model': _RunsCode(marker), 'version': '8.3.105'}, evil)
    _refused(evil, 'refused global', 'system', 'nothing from the file was '
             'run')
    assert not marker.exists()
    # and through the tool: one line, no traceback, still nothing ran
    proc = run_tool([TOOL, str(evil), str(tmp_path / 'o.pth')], check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'refused global' in proc.stderr and not marker.exists()
    # another callable hidden inside a real Ultralytics checkpoint
    # (saved as the trainer's last.pt: strip_optimizer would unpickle it)
    reference = _ultralytics_model('yolo11n.yaml')
    reference.extra = _RunsCode(marker)
    real = tmp_path / 'hidden.pt'
    torch.save(dict(epoch=2, model=None, ema=reference, train_args={}), real)
    _refused(real, 'refused global')
    assert not marker.exists()


@needs_ultralytics
def test_broken_and_foreign_files_get_one_line_errors(tmp_path):
    reference = _ultralytics_model('yolo11n.yaml')
    good = tmp_path / 'good.pt'
    _save_released(reference, good)
    data = good.read_bytes()
    cut = tmp_path / 'cut.pt'
    cut.write_bytes(data[:len(data) // 2])
    _refused(cut, 'truncated')
    empty = tmp_path / 'empty.pt'
    empty.write_bytes(b'')
    _refused(empty)
    _refused(tmp_path / 'missing.pt', 'no such file')
    mm = tmp_path / 'mmengine.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {}}, mm)
    _refused(mm, 'not an Ultralytics checkpoint')
    for task, yaml_name, kind in [('classify', 'yolo11n-cls.yaml',
                                   'ClassificationModel'),
                                  ('segment', 'yolo11n-seg.yaml',
                                   'SegmentationModel')]:
        path = tmp_path / f'{task}.pt'
        _save_released(_ultralytics_model(yaml_name, task=task), path)
        _refused(path, kind, 'only detection models')


@needs_ultralytics
def test_architectures_pst_mm_does_not_build_are_named(tmp_path):
    path = tmp_path / 'yolov8n.pt'
    _save_released(_ultralytics_model('yolov8n.yaml'), path)
    ckpt = load_ultralytics_checkpoint(str(path))
    with pytest.raises(UltralyticsCheckpointError,
                       match="'yolov8n.yaml' is not one pst-mm builds"):
        recognise_architecture(ckpt['model'].yaml, str(path))
    proc = run_tool([TOOL, str(path), str(tmp_path / 'o.pth')], check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'is not one pst-mm builds' in proc.stderr


@needs_ultralytics
def test_a_checkpoint_converted_for_n_does_not_load_into_s(tmp_path):
    src = tmp_path / 'yolo11n.pt'
    _save_released(_ultralytics_model('yolo11n.yaml'), src)
    s_config = osp.join(REPO, 'configs/yolo_pst/yolo11-s_8xb16-600e_coco.py')
    with pytest.raises(UltralyticsCheckpointError,
                       match='does not fit the pst-mm model: .*shape'):
        _convert(src, config=s_config)
    proc = run_tool([TOOL, str(src), str(tmp_path / 'o.pth'), '--config',
                     s_config], check=False)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert not (tmp_path / 'o.pth').exists()


def test_nothing_in_the_package_or_tools_imports_ultralytics():
    for top in ('pst_mm', 'tools'):
        for root, _, files in os.walk(osp.join(REPO, top)):
            for f in files:
                if f.endswith('.py'):
                    text = open(osp.join(root, f)).read()
                    assert 'import ultralytics' not in text, f
                    assert 'from ultralytics' not in text, f
