# Copyright (c) pst-mm contributors. All rights reserved.
"""Shared by the parity tests and by the script that made the authors'
fixtures (tests/data/p2hct/make_p2hct_fixtures.py): reference weights that
are a pure function of the state-dict key and shape, so a model can be
filled identically with and without the code that defined it.

Also: the demo detection set as an Ultralytics dataset, and Ultralytics'
own training and ``yolo val`` on it (run in a subprocess by the tests, so
its global settings stay out of the test process).

Never imported by ``pst_mm`` or ``tools``.
"""
import importlib.util
import json
import os
import os.path as osp
import sys
import zlib
from types import ModuleType
from typing import Dict, List, Tuple

import pytest
import torch
import torch.nn as nn

# Ultralytics checks for network access on import; nothing is downloaded
os.environ.setdefault('YOLO_OFFLINE', 'true')

# The reference the parity tests are written against
# (requirements/reference.txt, installed by tools/install.sh).
ULTRALYTICS_VERSION = '8.3.105'

#: Marks a test that runs the reference: skipped, with this reason, only
#: where ultralytics is not installed.
needs_ultralytics = pytest.mark.skipif(
    importlib.util.find_spec('ultralytics') is None,
    reason=f'needs the reference ultralytics=={ULTRALYTICS_VERSION} '
    '(requirements/reference.txt)')


def import_ultralytics() -> ModuleType:
    """Import ultralytics and check it is :data:`ULTRALYTICS_VERSION`.

    NumPy 2.4 removed ``np.trapz``, which 8.3.105's metrics call: it is
    aliased to ``np.trapezoid`` first (its numpy<=2.1.1 pin guards only
    that).
    """
    import numpy as np
    if not hasattr(np, 'trapz'):
        np.trapz = np.trapezoid
    import ultralytics
    if ultralytics.__version__ != ULTRALYTICS_VERSION:
        raise AssertionError(
            f'the parity tests need ultralytics=={ULTRALYTICS_VERSION}, '
            f'found {ultralytics.__version__}')
    return ultralytics


# validation image sizes (h, w): rectangular batches of several shapes
VAL_SIZES = [(128, 128), (96, 128), (128, 96), (80, 128), (128, 112)]

# the frozen DFL expectation weights (0..R-1) keep their values
_KEEP = ('dfl.conv.weight', )


def reference_weights(model: nn.Module,
                      dtype: torch.dtype = torch.float16
                      ) -> Dict[str, torch.Tensor]:
    """Deterministic random weights and BN statistics for ``model``.

    Every tensor is drawn from a generator seeded by ``crc32(key)``:
    conv / linear weights ~ N(0, 1 / fan_in), biases ~ N(0, 0.1^2),
    BN scales ~ U(0.5, 1.5), shifts and running means ~ N(0, 0.1^2),
    running variances ~ U(0.5, 2), other parameters (layer scales)
    ~ N(0, 0.1^2). Values are rounded through ``dtype`` (the released
    checkpoints are fp16) and returned in the tensor's own dtype.

    Args:
        model (nn.Module): Any module; only its state-dict keys, shapes
            and BN modules are read.
        dtype (torch.dtype): Rounding dtype. Defaults to torch.float16.

    Returns:
        dict[str, Tensor]: A full state dict (``num_batches_tracked`` and
        the DFL weights as they are).
    """
    bn_keys = set()
    for name, mod in model.named_modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            prefix = f'{name}.' if name else ''
            bn_keys.update(prefix + s for s in ('weight', 'bias',
                                                'running_mean',
                                                'running_var'))
    out = {}
    for key, old in model.state_dict().items():
        if key.endswith('num_batches_tracked') or key.endswith(_KEEP):
            out[key] = old.clone()
            continue
        shape = tuple(old.shape)
        g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        leaf = key.rsplit('.', 1)[-1]
        if key in bn_keys and leaf == 'weight':
            val = torch.rand(shape, generator=g) + 0.5
        elif key in bn_keys and leaf == 'running_var':
            val = torch.rand(shape, generator=g) * 1.5 + 0.5
        elif len(shape) >= 2:
            fan_in = max(1, old.numel() // shape[0])
            val = torch.randn(shape, generator=g) / fan_in**0.5
        else:
            val = torch.randn(shape, generator=g) * 0.1
        out[key] = val.to(dtype).to(old.dtype)
    return out


def skeletonize(model: nn.Module) -> nn.Module:
    """Replace every tensor of ``model`` by a one-element storage expanded
    to its shape (in place): the pickled model keeps its classes, shapes
    and dtypes in a file of a few kB. :func:`reference_weights` refills it.
    """
    for mod in model.modules():
        for store in (mod._parameters, mod._buffers):
            for name, t in store.items():
                if t is None:
                    continue
                small = torch.zeros((), dtype=t.dtype).expand(t.shape)
                if isinstance(t, nn.Parameter):
                    store[name] = nn.Parameter(small, t.requires_grad)
                else:
                    store[name] = small
    return model


def _yolo_label(cls: int, box: List[float], W: float, H: float) -> str:
    """One Ultralytics label line: class, then the COCO ``xywh`` box as a
    normalised centre and size."""
    x, y, w, h = box
    return f'{cls} {(x + w / 2) / W} {(y + h / 2) / H} {w / W} {h / H}'


def _write_data_yaml(out: str, names: List[str]) -> str:
    lines = ''.join(f'  {i}: {n}\n' for i, n in enumerate(names))
    path = osp.join(out, 'data.yaml')
    with open(path, 'w') as f:
        f.write(f'path: {out}\ntrain: images/train\nval: images/val\n'
                f'names:\n{lines}')
    return path


def demo_train_annotations(demo_root: str) -> Tuple[dict, Dict[int, list]]:
    """The demo set's training annotations (COCO) and its annotations per
    image id."""
    with open(osp.join(demo_root, 'annotations',
                       'instances_train.json')) as f:
        ann = json.load(f)
    by_image: Dict[int, list] = {}
    for a in ann['annotations']:
        by_image.setdefault(a['image_id'], []).append(a)
    return ann, by_image


def demo_as_ultralytics(demo_root: str, out: str,
                        sizes: List[Tuple[int, int]] = VAL_SIZES) -> dict:
    """The demo set's training images as an Ultralytics dataset.

    ``images/train`` holds the training images as they are; ``images/val``
    the same images resized to ``sizes`` in turn (so the validation
    batches have several aspect ratios), with a COCO annotation file
    ``val.json`` whose image ids are the file stems, as Ultralytics writes
    them into its ``predictions.json``.

    Returns:
        dict: ``yaml`` (the data file), ``val_json``, ``val_dir``,
        ``classes``.
    """
    import cv2
    ann, by_image = demo_train_annotations(demo_root)
    cats = [c['id'] for c in ann['categories']]
    classes = [c['name'] for c in ann['categories']]
    for d in ('images/train', 'images/val', 'labels/train', 'labels/val'):
        os.makedirs(osp.join(out, d), exist_ok=True)
    val = dict(images=[], annotations=[], categories=ann['categories'])
    for k, info in enumerate(ann['images']):
        img = cv2.imread(osp.join(demo_root, 'train', info['file_name']))
        h0, w0 = img.shape[:2]
        hh, ww = sizes[k % len(sizes)]
        stem = f'{k:04d}'
        cv2.imwrite(osp.join(out, 'images/train', stem + '.png'), img)
        cv2.imwrite(osp.join(out, 'images/val', stem + '.png'),
                    cv2.resize(img, (ww, hh), interpolation=cv2.INTER_AREA))
        val['images'].append(
            dict(id=k, file_name=stem + '.png', width=ww, height=hh))
        for split, (sx, sy) in (('train', (1, 1)),
                                ('val', (ww / w0, hh / h0))):
            W, H = (w0, h0) if split == 'train' else (ww, hh)
            lines = []
            for a in by_image.get(info['id'], []):
                x, y, w, h = a['bbox']
                x, y, w, h = x * sx, y * sy, w * sx, h * sy
                lines.append(_yolo_label(cats.index(a['category_id']),
                                         [x, y, w, h], W, H))
                if split == 'val':
                    val['annotations'].append(
                        dict(id=len(val['annotations']) + 1, image_id=k,
                             category_id=a['category_id'],
                             bbox=[x, y, w, h], area=w * h, iscrowd=0))
            with open(osp.join(out, f'labels/{split}', stem + '.txt'),
                      'w') as f:
                f.write('\n'.join(lines) + '\n')
    with open(osp.join(out, 'val.json'), 'w') as f:
        json.dump(val, f)
    return dict(yaml=_write_data_yaml(out, classes),
                val_json=osp.join(out, 'val.json'),
                val_dir=osp.join(out, 'images/val'), classes=classes)


def ultralytics_train_and_val(data_yaml: str, work_dir: str, imgsz: int,
                              epochs: int) -> None:
    """Train YOLO11-N from scratch with Ultralytics on CPU, then ``yolo
    val`` its ``last.pt`` as the published numbers are made (rect batches
    of 16, conf 0.001, IoU 0.7, ``save_json``). Writes
    ``work_dir/train/weights/last.pt`` and ``work_dir/val/predictions.json``.
    """
    import_ultralytics()
    from ultralytics import YOLO
    common = dict(device='cpu', plots=False, verbose=False, exist_ok=True,
                  project=work_dir, imgsz=imgsz)
    YOLO('yolo11n.yaml').train(
        data=data_yaml, epochs=epochs, batch=4, workers=0, val=False,
        amp=False, seed=0, deterministic=True, mosaic=0.0, close_mosaic=0,
        warmup_epochs=1, name='train', **common)
    YOLO(osp.join(work_dir, 'train', 'weights', 'last.pt')).val(
        data=data_yaml, batch=16, conf=0.001, iou=0.7, save_json=True,
        name='val', **common)


def compare(work_dir: str, data_root: str,
            seeds: Tuple[int, ...] = (0, 1, 2)) -> str:
    """The reference recipe on the demo set, trained by pst-mm and by
    Ultralytics' own trainer with the same model (YOLO11-N), images and
    schedule (configs/demo/yolo11-n_1xb16-20e_ultralytics-recipe_pst-demo
    .py), once per seed; every checkpoint is evaluated by ``tools/test.py``
    under the same config (the yolo val protocol, which the end-to-end test
    shows equal to Ultralytics' own validation). Returns the markdown table
    it prints."""
    import statistics
    import subprocess
    import time
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    sys.path.insert(0, repo)
    from pst_mm.datasets import build_det_demo
    cfg = 'configs/demo/yolo11-n_1xb16-20e_ultralytics-recipe_pst-demo.py'
    data_root, work_dir = osp.abspath(data_root), osp.abspath(work_dir)
    if not osp.isfile(osp.join(data_root, 'annotations',
                               'instances_val.json')):
        build_det_demo(data_root)
    env = dict(os.environ, PST_DEMO_DET_ROOT=data_root + '/')

    def run(args):
        return subprocess.run([sys.executable] + args, cwd=repo, env=env,
                              check=True, capture_output=True,
                              text=True).stdout

    def test(ckpt):
        out = run(['tools/test.py', cfg, ckpt, '--work-dir',
                   osp.join(work_dir, 'test')])
        line = [ln for ln in out.splitlines()
                if ln.startswith('[pst-mm] test metrics: ')][-1]
        m = json.loads(line.split(': ', 1)[1])
        return m['coco/bbox_mAP'], m['coco/bbox_mAP_50']

    data = coco_as_ultralytics(data_root, osp.join(work_dir, 'yolo_data'))
    results = {'pst-mm (tools/train.py)': [],
               'Ultralytics 8.3.105 (its trainer)': []}
    for seed in seeds:
        ours = osp.join(work_dir, f'pstmm_seed{seed}')
        start = time.time()
        run(['tools/train.py', cfg, '--work-dir', ours, '--cfg-options',
             f'randomness.seed={seed}'])
        results['pst-mm (tools/train.py)'].append(
            (seed, *test(osp.join(ours, 'epoch_20.pth')),
             time.time() - start))
        theirs = osp.join(work_dir, f'ultralytics_seed{seed}')
        start = time.time()
        run([osp.abspath(__file__), 'train', data['yaml'], theirs,
             str(seed)])
        elapsed = time.time() - start
        converted = osp.join(theirs, 'last_pstmm.pth')
        run(['tools/model_converters/ultralytics_to_pstmm.py',
             osp.join(theirs, 'train', 'weights', 'last.pt'), converted,
             '--overwrite'])
        results['Ultralytics 8.3.105 (its trainer)'].append(
            (seed, *test(converted), elapsed))
    table = ['| trainer | seed | bbox mAP | mAP@50 | training time (s) |',
             '|---|---|---|---|---|']
    for name, rows in results.items():
        for seed, ap, ap50, t in rows:
            table.append(f'| {name} | {seed} | {ap:.3f} | {ap50:.3f} | '
                         f'{t:.0f} |')
    for name, rows in results.items():
        aps = [r[1] for r in rows]
        std = statistics.stdev(aps) if len(aps) > 1 else 0.0
        table.append(f'| {name} | mean ± std | {statistics.mean(aps):.3f} '
                     f'± {std:.3f} | '
                     f'{statistics.mean(r[2] for r in rows):.3f} | |')
    text = '\n'.join(table)
    print(text)
    return text


def coco_as_ultralytics(data_root: str, out: str) -> dict:
    """The demo set (train and val, as they are) as an Ultralytics
    dataset; returns ``yaml``."""
    import shutil
    names = None
    for split in ('train', 'val'):
        ann = json.load(open(osp.join(data_root, 'annotations',
                                      f'instances_{split}.json')))
        cats = [c['id'] for c in ann['categories']]
        names = [c['name'] for c in ann['categories']]
        by_image: Dict[int, list] = {}
        for a in ann['annotations']:
            by_image.setdefault(a['image_id'], []).append(a)
        for d in ('images', 'labels'):
            os.makedirs(osp.join(out, d, split), exist_ok=True)
        for info in ann['images']:
            stem = osp.splitext(info['file_name'])[0]
            shutil.copy(osp.join(data_root, split, info['file_name']),
                        osp.join(out, 'images', split, info['file_name']))
            W, H = info['width'], info['height']
            with open(osp.join(out, 'labels', split, stem + '.txt'),
                      'w') as f:
                for a in by_image.get(info['id'], []):
                    f.write(_yolo_label(cats.index(a['category_id']),
                                        a['bbox'], W, H) + '\n')
    return dict(yaml=_write_data_yaml(out, names))


def ultralytics_reference_train(data_yaml: str, work_dir: str,
                                seed: int = 0) -> None:
    """Ultralytics' own trainer with the values of
    configs/demo/yolo11-n_1xb16-20e_ultralytics-recipe_pst-demo.py (the
    authors' arguments, shrunk to the demo set as that config says)."""
    import_ultralytics()
    from ultralytics import YOLO
    YOLO('yolo11n.yaml').train(
        data=data_yaml, epochs=20, batch=16, imgsz=128, nbs=16,
        close_mosaic=2, optimizer='SGD', lr0=0.01, lrf=0.01, momentum=0.937,
        weight_decay=5e-4, warmup_epochs=3, warmup_momentum=0.8,
        warmup_bias_lr=0.1, hsv_h=0.015, hsv_s=0.7, hsv_v=0.4,
        translate=0.1, scale=0.5, mosaic=1.0, mixup=0.0, copy_paste=0.1,
        fliplr=0.5, seed=seed, deterministic=True, amp=False, workers=2,
        device='cpu', val=False, plots=False, verbose=False,
        project=work_dir, name='train', exist_ok=True)


if __name__ == '__main__':
    # python tests/ultralytics_reference.py DATA_YAML WORK_DIR IMGSZ EPOCHS
    # python tests/ultralytics_reference.py train DATA_YAML WORK_DIR SEED
    # python tests/ultralytics_reference.py compare WORK_DIR DATA_ROOT
    #     [SEED ...]
    if sys.argv[1] == 'compare':
        compare(sys.argv[2], sys.argv[3],
                tuple(int(s) for s in sys.argv[4:]) or (0, 1, 2))
    elif sys.argv[1] == 'train':
        ultralytics_reference_train(sys.argv[2], sys.argv[3],
                                    int(sys.argv[4]))
    else:
        ultralytics_train_and_val(sys.argv[1], sys.argv[2],
                                  int(sys.argv[3]), int(sys.argv[4]))
