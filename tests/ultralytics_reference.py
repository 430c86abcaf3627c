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
import json
import os
import os.path as osp
import sys
import zlib
from typing import Dict, List, Tuple

import torch
import torch.nn as nn

# Ultralytics checks for network access on import; nothing is downloaded
os.environ.setdefault('YOLO_OFFLINE', 'true')

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
    ann = json.load(open(osp.join(demo_root, 'annotations',
                                  'instances_train.json')))
    cats = [c['id'] for c in ann['categories']]
    classes = [c['name'] for c in ann['categories']]
    by_image: Dict[int, list] = {}
    for a in ann['annotations']:
        by_image.setdefault(a['image_id'], []).append(a)
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
                lines.append(f'{cats.index(a["category_id"])} '
                             f'{(x + w / 2) / W} {(y + h / 2) / H} {w / W} '
                             f'{h / H}')
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
    names = '\n'.join(f'  {i}: {n}' for i, n in enumerate(classes))
    with open(osp.join(out, 'data.yaml'), 'w') as f:
        f.write(f'path: {out}\ntrain: images/train\nval: images/val\n'
                f'names:\n{names}\n')
    return dict(yaml=osp.join(out, 'data.yaml'),
                val_json=osp.join(out, 'val.json'),
                val_dir=osp.join(out, 'images/val'), classes=classes)


def ultralytics_train_and_val(data_yaml: str, work_dir: str, imgsz: int,
                              epochs: int) -> None:
    """Train YOLO11-N from scratch with Ultralytics on CPU, then ``yolo
    val`` its ``last.pt`` as the published numbers are made (rect batches
    of 16, conf 0.001, IoU 0.7, ``save_json``). Writes
    ``work_dir/train/weights/last.pt`` and ``work_dir/val/predictions.json``.
    """
    import numpy as np
    if not hasattr(np, 'trapz'):  # removed in numpy 2.4; 8.3.105 calls it
        np.trapz = np.trapezoid
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


if __name__ == '__main__':
    # python tests/ultralytics_reference.py DATA_YAML WORK_DIR IMGSZ EPOCHS
    ultralytics_train_and_val(sys.argv[1], sys.argv[2], int(sys.argv[3]),
                              int(sys.argv[4]))
