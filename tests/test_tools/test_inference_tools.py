# Copyright (c) pst-mm contributors. All rights reserved.
"""Seeing boxes and data: DetInferencer on pst-mm configs, tools/image_demo.py,
tools/test.py --show-dir / --out, browse_dataset.py, print_config.py, the
launchers' one-line error for missing data, config names (find_config,
``pst_mm/.mim`` in a built wheel, ``DetInferencer(model=<name>)``)."""
import glob
import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import zipfile

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import REPO, run_tool

CLASSES = ('astronaut', 'cat', 'coffee', 'rocket')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
FAST = [f'{d}.num_workers=0' for d in LOADERS] + [
    f'{d}.persistent_workers=False' for d in LOADERS
]


def _config(pattern: str) -> str:
    """The one config matching ``pattern`` (names may gain a suffix)."""
    hits = sorted(glob.glob(osp.join(REPO, 'configs', pattern)))
    assert len(hits) == 1, (pattern, hits)
    return hits[0]


PST_RETINA = _config('demo/retinanet_r18_pst-n_*_pst-demo.py')
FPN_RETINA = _config('demo/retinanet_r18_fpn_1xb8-*_pst-demo.py')
YOLO_DEMO = _config('demo/yolo11-pst-n_*_pst-demo.py')
YOLO_COCO = _config('yolo_pst/yolo11-pst-n_8xb16-600e_coco.py')
PST_COCO = _config('pst_det/retinanet_r50_pst-n_*coco.py')
CLS_DEMO = _config('demo/resnet18?gap_*_pst-demo.py')


def _env_without_demo_root() -> dict:
    """The environment without PST_DEMO_DET_ROOT: mmengine logs one line
    when a config reads an environment variable."""
    env = dict(os.environ, OMP_NUM_THREADS='2')
    env.pop('PST_DEMO_DET_ROOT', None)
    return env


def _checkpoint(cfg_path: str, out: str) -> str:
    """A randomly initialised model of ``cfg_path``, saved with its class
    names in the meta data (as a trained run saves them)."""
    import pst_mm  # noqa: F401
    from mmengine.registry import MODELS, init_default_scope
    from mmengine.runner import save_checkpoint
    cfg = Config.fromfile(cfg_path)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    save_checkpoint(
        dict(
            meta=dict(dataset_meta=dict(classes=CLASSES)),
            state_dict=model.state_dict()), out)
    return out


def _png_inputs(demo_det_root: str, folder: str, num: int = 2) -> list:
    """``num`` demo photographs as PNG (lossless, so a drawn image can be
    compared pixel by pixel with its input)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for src in sorted(glob.glob(osp.join(demo_det_root, 'val', '*')))[:num]:
        dst = osp.join(folder, osp.splitext(osp.basename(src))[0] + '.png')
        mmcv.imwrite(mmcv.imread(src), dst)
        paths.append(dst)
    return paths


@pytest.fixture(scope='module')
def pst_ckpt(tmp_path_factory):
    return _checkpoint(PST_RETINA,
                       str(tmp_path_factory.mktemp('ckpt') / 'pst.pth'))


@pytest.mark.parametrize('cfg_name', ['pst_retinanet', 'yolo'])
def test_det_inferencer_draws_boxes(cfg_name, demo_det_root, tmp_path):
    from mmdet.apis import DetInferencer
    cfg_path = PST_RETINA if cfg_name == 'pst_retinanet' else YOLO_DEMO
    ckpt = _checkpoint(cfg_path, str(tmp_path / 'model.pth'))
    cfg = Config.fromfile(cfg_path)
    # an untrained head scores about its prior: keep the top 3 boxes
    cfg.model.test_cfg.score_thr = 0.0
    cfg.model.test_cfg.max_per_img = 3
    inferencer = DetInferencer(
        model=cfg, weights=ckpt, device='cpu', show_progress=False)
    assert inferencer.model.dataset_meta['classes'] == CLASSES
    img_path = _png_inputs(demo_det_root, str(tmp_path / 'in'), 1)[0]
    out_dir = str(tmp_path / 'out')
    result = inferencer(
        img_path, pred_score_thr=0.0, out_dir=out_dir, no_save_pred=False)
    pred = result['predictions'][0]
    assert len(pred['bboxes']) == len(pred['scores']) == 3
    assert all(0 <= label < len(CLASSES) for label in pred['labels'])
    with open(osp.join(out_dir, 'preds', osp.basename(img_path)[:-4] +
                       '.json')) as f:
        assert json.load(f)['bboxes'] == pred['bboxes']
    vis = mmcv.imread(osp.join(out_dir, 'vis', osp.basename(img_path)))
    src = mmcv.imread(img_path)
    assert vis.shape == src.shape
    changed = (vis != src).any(-1)
    h, w = changed.shape
    for x1, y1, x2, y2 in pred['bboxes']:
        # the box outline (line width 3) lies inside the box grown by 2 px
        r0, r1 = max(int(y1) - 2, 0), min(int(np.ceil(y2)) + 3, h)
        c0, c1 = max(int(x1) - 2, 0), min(int(np.ceil(x2)) + 3, w)
        assert changed[r0:r1, c0:c1].any(), (x1, y1, x2, y2)
    # with no box above the threshold nothing is drawn at all
    result = inferencer(img_path, pred_score_thr=1.01, return_vis=True)
    np.testing.assert_array_equal(result['visualization'][0],
                                  mmcv.bgr2rgb(src))


def test_image_demo_on_a_folder(demo_det_root, pst_ckpt, tmp_path):
    inputs = _png_inputs(demo_det_root, str(tmp_path / 'imgs'), 2)
    out = tmp_path / 'out'
    proc = run_tool([
        'tools/image_demo.py',
        str(tmp_path / 'imgs'), osp.basename(PST_RETINA)[:-3], '--weights',
        pst_ckpt, '--out-dir',
        str(out), '--device', 'cpu', '--pred-score-thr', '0.0',
        '--batch-size', '2', '--cfg-options', 'model.test_cfg.score_thr=0.0',
        'model.test_cfg.max_per_img=5'
    ])
    assert f'results have been saved at {out}' in proc.stdout
    names = sorted(osp.basename(p) for p in inputs)
    assert sorted(os.listdir(out / 'vis')) == names
    assert sorted(os.listdir(out / 'preds')) == [
        n[:-4] + '.json' for n in names
    ]
    for name in names:
        with open(out / 'preds' / (name[:-4] + '.json')) as f:
            pred = json.load(f)
        assert len(pred['bboxes']) == 5
        assert set(pred) == {'labels', 'scores', 'bboxes'}


def test_image_demo_names_a_bad_config(pst_ckpt):
    from pst_mm.utils.config_lookup import find_config
    name = osp.basename(PST_RETINA)[:-3] + 'x'
    with pytest.raises(FileNotFoundError) as err:
        find_config(name)
    assert str(err.value).startswith(
        f'config {name} not found: no such file and no pst-mm config of '
        f'that name; did you mean {name[:-1]}')
    proc = run_tool(
        ['tools/image_demo.py', pst_ckpt, name, '--weights', pst_ckpt],
        check=False)
    assert proc.returncode == 1
    assert proc.stderr == f'tools/image_demo.py: {err.value}\n'


def test_test_py_show_dir_and_det_dump(demo_det_root, pst_ckpt, tmp_path):
    show_dir = tmp_path / 'vis'
    out = tmp_path / 'preds.pkl'
    run_tool([
        'tools/test.py', PST_RETINA, pst_ckpt, '--work-dir',
        str(tmp_path / 'work'), '--show-dir',
        str(show_dir), '--out',
        str(out), '--cfg-options', 'model.test_cfg.score_thr=0.0',
        'model.test_cfg.max_per_img=5', 'test_dataloader.batch_size=4'
    ] + FAST, env=dict(PST_DEMO_DET_ROOT=demo_det_root))
    val_images = sorted(os.listdir(osp.join(demo_det_root, 'val')))
    assert len(val_images) == 8
    assert sorted(os.listdir(show_dir)) == val_images
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8
    # DumpDetResults drops the ground truth, keeps the predictions
    assert 'gt_instances' not in preds[0]
    assert preds[0]['pred_instances']['bboxes'].shape == (5, 4)


@pytest.mark.parametrize('task', ['det', 'cls'])
def test_browse_dataset_writes_one_image_per_sample(task, request,
                                                    tmp_path):
    """A detection and a classification config, three samples each."""
    config, env = {
        'det': (FPN_RETINA, 'PST_DEMO_DET_ROOT'),
        'cls': (CLS_DEMO, 'PST_DEMO_CLS_ROOT')
    }[task]
    root = request.getfixturevalue(f'demo_{task}_root')
    out = tmp_path / 'browse'
    run_tool([
        'tools/analysis_tools/browse_dataset.py', config, '--not-show',
        '--output-dir',
        str(out), '--num', '3', '--cfg-options'
    ] + FAST, env={env: root})
    files = sorted(os.listdir(out))
    assert [f[:7] for f in files] == ['000000_', '000001_', '000002_']
    if task == 'det':
        assert mmcv.imread(str(out / files[0])).shape[:2] != (0, 0)


def test_browse_dataset_yolo_mosaic_pipeline(demo_det_root, tmp_path):
    """The COCO recipe's pipeline (mosaic, mix-up, copy-paste,
    perspective) at a quarter of its 640 size."""
    out = tmp_path / 'browse'
    ds = 'train_dataloader.dataset'
    run_tool([
        'tools/analysis_tools/browse_dataset.py', YOLO_COCO, '--not-show',
        '--output-dir',
        str(out), '--num', '4', '--cfg-options', f'{ds}.data_root=' +
        demo_det_root, f'{ds}.ann_file=annotations/instances_train.json',
        f'{ds}.data_prefix.img=train/',
        f'{ds}.metainfo.classes=(astronaut,cat,coffee,rocket)',
        f'{ds}.pipeline.2.scale=160', f'{ds}.pipeline.3.prob=1.0',
        f'{ds}.pipeline.3.pre_transform.0.img_scale=160',
        f'{ds}.pipeline.3.pre_transform.2.img_scale=160'
    ])
    files = sorted(os.listdir(out))
    assert len(files) == 4
    img = mmcv.imread(str(out / files[-1]))
    # the mosaic of 4 images at 160 is cropped back to 160 x 160
    assert img.shape == (160, 160, 3)


def test_print_config(tmp_path):
    save = tmp_path / 'full.py'
    proc = run_tool([
        'tools/misc/print_config.py',
        osp.basename(PST_COCO)[:-3], '--save-path',
        str(save), '--cfg-options', 'model.neck.out_channels=128'
    ])
    assert proc.stdout.startswith('Config:\n')
    assert proc.stdout.rstrip().endswith(f'Config saved to {save}')
    full = Config.fromfile(str(save))
    assert full.model.neck.out_channels == 128
    assert full.model.type == 'RetinaNet'
    assert full.train_dataloader.dataset.ann_file == (
        Config.fromfile(PST_COCO).train_dataloader.dataset.ann_file)


def test_train_py_names_missing_data_in_one_line(tmp_path):
    missing = str(tmp_path / 'coco') + '/'
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', PST_COCO, '--cfg-options'] +
        [f'{d}.dataset.data_root={missing}' for d in LOADERS] + [
            f'{e}.ann_file={missing}annotations/instances_val2017.json'
            for e in ('val_evaluator', 'test_evaluator')
        ],
        cwd=REPO, env=_env_without_demo_root(), capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stdout == ''
    assert proc.stderr == (
        f'tools/train.py: data not found: {missing} (named by '
        'train_dataloader); see README.md, "Data layout"\n')
    # the root exists, its annotation file does not
    os.makedirs(missing)
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', PST_COCO, '--cfg-options'] +
        [f'{d}.dataset.data_root={missing}' for d in LOADERS] + [
            f'{e}.ann_file={missing}annotations/instances_val2017.json'
            for e in ('val_evaluator', 'test_evaluator')
        ],
        cwd=REPO, env=_env_without_demo_root(), capture_output=True,
        text=True, timeout=300)
    ann = Config.fromfile(PST_COCO).train_dataloader.dataset.ann_file
    assert proc.returncode == 1 and proc.stdout == ''
    assert proc.stderr.splitlines() == [
        f'tools/train.py: data not found: {missing}{ann} (named by '
        'train_dataloader) (and 3 more); see README.md, "Data layout"'
    ]


def test_test_py_names_missing_data_in_one_line(pst_ckpt, tmp_path):
    missing = str(tmp_path / 'none') + '/'
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', PST_RETINA, pst_ckpt,
         '--cfg-options', f'test_dataloader.dataset.data_root={missing}',
         # under the missing root too (a fresh clone has no demo set), so
         # the root is the one path reported
         f'test_evaluator.ann_file={missing}annotations/val.json'],
        cwd=REPO, env=_env_without_demo_root(), capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stdout == ''
    assert proc.stderr == (
        f'tools/test.py: data not found: {missing} (named by '
        'test_dataloader); see README.md, "Data layout"\n')


def test_data_check_unwraps_dataset_wrappers(tmp_path):
    from pst_mm.utils.data_check import check_data_paths, missing_data_paths
    root = str(tmp_path) + '/'
    os.makedirs(osp.join(root, 'a', 'img'))
    open(osp.join(root, 'a', 'ann.json'), 'w').close()
    good = dict(
        type='CocoDataset', data_root=root + 'a/', ann_file='ann.json',
        data_prefix=dict(img='img/'))
    bad = dict(
        type='CocoDataset', data_root=root + 'a/', ann_file='b.json',
        data_prefix=dict(img='img/', seg=root + 'seg/'))
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset',
                    datasets=[
                        dict(type='RepeatDataset', times=2, dataset=good),
                        dict(
                            type='ClassBalancedDataset',
                            oversample_thr=0.1,
                            dataset=bad)
                    ])),
            val_dataloader=None,
            test_dataloader=dict(
                dataset=dict(
                    type='MultiImageMixDataset',
                    dataset=dict(
                        data_root=root + 'gone/', ann_file='x.json',
                        data_prefix=dict(img='y/')))),
            test_evaluator=dict(
                type='CocoMetric', ann_file=root + 'test.json')))
    assert missing_data_paths(cfg, ('train_dataloader', )) == [
        (root + 'a/b.json', 'train_dataloader'),
        (root + 'seg/', 'train_dataloader')
    ]
    # under a missing root only the root is reported
    assert missing_data_paths(
        cfg, ('val_dataloader', 'test_dataloader'),
        ('test_evaluator', )) == [(root + 'gone/', 'test_dataloader'),
                                  (root + 'test.json', 'test_evaluator')]
    with pytest.raises(FileNotFoundError) as err:
        check_data_paths(cfg, ('test_dataloader', ), hint=None)
    assert str(err.value) == (f'data not found: {root}gone/ (named by '
                              'test_dataloader)')
    check_data_paths(cfg, ('val_dataloader', ))  # a None loader is skipped


def _copy_source_tree(dst: str) -> str:
    """What a release is built from: package, configs, tools, metadata."""
    os.makedirs(dst)
    for name in ('setup.py', 'MANIFEST.in', 'README.md', 'requirements',
                 'pst_mm', 'configs', 'tools', 'LICENSE'):
        src = osp.join(REPO, name)
        if osp.isdir(src):
            shutil.copytree(
                src, osp.join(dst, name),
                ignore=shutil.ignore_patterns('__pycache__', '.mim'))
        elif osp.isfile(src):
            shutil.copy(src, dst)
    return dst


def _write_model_index(root: str, config_rel: str) -> None:
    """A minimal OpenMMLab model index with one model (no released
    weights: ``Weights: null``)."""
    name = osp.splitext(osp.basename(config_rel))[0]
    with open(osp.join(root, 'model-index.yml'), 'w') as f:
        f.write('Import:\n  - configs/test/metafile.yml\n')
    os.makedirs(osp.join(root, 'configs', 'test'), exist_ok=True)
    with open(osp.join(root, 'configs', 'test', 'metafile.yml'), 'w') as f:
        f.write(f'Models:\n  - Name: {name}\n    In Collection: PST\n'
                f'    Config: {config_rel}\n    Weights: null\n')


def test_wheel_carries_configs_and_finds_them_by_name(tmp_path):
    """``pip wheel`` puts configs, tools and the model index into
    ``pst_mm/.mim``; installed from it, pst_mm resolves a config name
    (``find_config``) and ``DetInferencer(model=<name>, scope='pst_mm')``
    builds the model (a test model index: nothing is released)."""
    src = _copy_source_tree(str(tmp_path / 'src'))
    rel = osp.relpath(PST_RETINA, osp.join(REPO, 'configs'))
    name = osp.basename(PST_RETINA)[:-3]
    _write_model_index(src, 'configs/' + rel)
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '--no-index', '-q', '-w',
         str(tmp_path / 'dist'), src],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel, = glob.glob(str(tmp_path / 'dist' / '*.whl'))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / 'site')
    assert f'pst_mm/.mim/configs/{rel}' in names
    assert 'pst_mm/.mim/model-index.yml' in names
    assert 'pst_mm/.mim/tools/train.py' in names
    assert 'pst_mm/.mim/configs/test/metafile.yml' in names
    # the installed package (no configs/ next to it) resolves names from
    # its .mim folder
    ckpt = _checkpoint(PST_RETINA, str(tmp_path / 'model.pth'))
    code = '\n'.join([
        'import pst_mm',
        'from pst_mm.utils.config_lookup import find_config',
        'from pst_mm.utils.inference_scope import register_inference_scope',
        'from mmdet.apis import DetInferencer',
        'import numpy as np',
        "print('OUT', pst_mm.__file__)",
        f"print('OUT', find_config({name!r}))",
        'register_inference_scope()',
        f'inf = DetInferencer(model={name!r}, weights={ckpt!r}, '
        "scope='pst_mm', device='cpu', show_progress=False)",
        'res = inf(np.full((96, 128, 3), 128, np.uint8))',
        "print('OUT', type(inf.model).__name__, "
        'type(inf.model.neck).__name__, '
        "inf.model.dataset_meta['classes'], sorted(res['predictions'][0]))",
    ])
    proc = subprocess.run(
        [sys.executable, '-c', code], cwd=str(tmp_path),
        env=dict(os.environ, PYTHONPATH=str(tmp_path / 'site')),
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    site_pkg = tmp_path / 'site' / 'pst_mm'
    neck = Config.fromfile(PST_RETINA).model.neck.type
    assert [
        line[4:] for line in proc.stdout.splitlines()
        if line.startswith('OUT ')
    ] == [
        str(site_pkg / '__init__.py'),
        str(site_pkg / '.mim' / 'configs' / rel),
        f"RetinaNet {neck} {CLASSES!r} ['bboxes', 'labels', 'scores']",
    ]


def test_det_inferencer_finds_a_config_by_name_in_the_model_index(
        pst_ckpt):
    """In the source checkout, the repository's own model-index.yml and
    metafiles resolve a config name (``import pst_mm`` creates the scope)."""
    from mmdet.apis import DetInferencer
    name = osp.basename(PST_RETINA)[:-3]
    inferencer = DetInferencer(
        model=name, weights=pst_ckpt, scope='pst_mm', device='cpu',
        show_progress=False)
    assert type(inferencer.model.neck).__name__ == 'PSTFPN'
    assert inferencer.model.dataset_meta['classes'] == CLASSES
    result = inferencer(np.full((96, 128, 3), 128, np.uint8))
    assert sorted(result['predictions'][0]) == ['bboxes', 'labels', 'scores']
