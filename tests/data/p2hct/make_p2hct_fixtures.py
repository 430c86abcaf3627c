# Copyright (c) pst-mm contributors. All rights reserved.
"""Make the P2HCT parity fixtures in ``tests/data/p2hct`` with the PST
authors' own code (github.com/inlmouse/P2HCT, commit 6dd2412, an
Ultralytics 8.3.105 fork, AGPL-3.0). Not part of pst-mm; never imported by
the tests. Nothing of the authors' code is copied into this repository: it
is only run.

Many files of that repository are empty as published, so it only runs as an
overlay on the pip-installed ``ultralytics==8.3.105`` package::

    pip install ultralytics==8.3.105   # any env with torch
    git clone https://github.com/inlmouse/P2HCT && git -C P2HCT checkout 6dd2412
    mkdir -p /tmp/p2hct && cp -r "$(python -c 'import ultralytics,os;print(os.path.dirname(ultralytics.__file__))')" /tmp/p2hct/
    mkdir -p /tmp/p2hct/ultralytics/cfg/models/pst
    for f in ultralytics/nn/tasks.py ultralytics/nn/modules/block.py ultralytics/nn/modules/__init__.py \\
             $(git -C P2HCT ls-tree --name-only 6dd2412 ultralytics/cfg/models/pst/); do
        git -C P2HCT show 6dd2412:$f > /tmp/p2hct/$f; done

then, from the repository root::

    PYTHONPATH=/tmp/p2hct python tests/data/p2hct/make_p2hct_fixtures.py tests/data/p2hct

For each model (yolo11-pst.yaml at scales n, s, m; r18/r50-pst.yaml at their
only scale n, r101-pst.yaml at its only scale s) it writes

* ``<name>.pt``: the checkpoint as ``strip_optimizer`` leaves a released
  ``best.pt`` (fp16 model with ``names``/``nc``/``args``, ``ema``,
  ``optimizer``, ``updates``, ``best_fitness`` None, ``epoch`` -1, ...), but
  with the model skeletonized (``tests/ultralytics_reference.py``): every
  tensor a one-element storage expanded to its shape, except the frozen DFL
  weights. Tests refill it with ``reference_weights``.
* ``input.pt``: ``{'input': x}``, one 96x128 image (not a multiple of 64;
  every coarse level has >= 8 tokens for top-8).
* ``<name>_io.pt``: ``{'raw': {0: [...], 8: [...]}, 'params', 'yaml',
  'scale'}``: the Detect head's raw per-level maps for ``x`` (keys of
  ``raw`` are the PSAttn ``topk``), loadable with ``weights_only=True``.
  The model is filled with ``reference_weights`` (fp16-rounded, a
  function of key and shape) and run in fp32 eval mode on CPU with the Gumbel noise of ``PSAttn`` switched off.
"""  # noqa: E501
import copy
import io
import os
import os.path as osp
import sys
from datetime import datetime

import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.normpath(osp.join(HERE, '..', '..')))  # tests/

from ultralytics_reference import (_KEEP, reference_weights,  # noqa: E402
                                   skeletonize)

MODELS = [('yolo11n-pst.yaml', 'n'), ('yolo11s-pst.yaml', 's'),
          ('yolo11m-pst.yaml', 'm'), ('r18-pst.yaml', 'n'),
          ('r50-pst.yaml', 'n'), ('r101-pst.yaml', 's')]
TOPKS = (0, 8)
TRAIN_OVERRIDES = dict(task='detect', mode='train', data='coco.yaml',
                       epochs=600, imgsz=640, batch=128, optimizer='SGD')
# header of results.csv as DetectionTrainer.save_metrics writes it
RESULT_COLS = ('epoch', 'time', 'train/box_loss', 'train/cls_loss',
               'train/dfl_loss', 'metrics/precision(B)',
               'metrics/recall(B)', 'metrics/mAP50(B)',
               'metrics/mAP50-95(B)', 'val/box_loss', 'val/cls_loss',
               'val/dfl_loss', 'lr/pg0', 'lr/pg1', 'lr/pg2')


def check_env():
    try:
        import ultralytics
        import ultralytics.nn.modules.block as block
        import ultralytics.nn.tasks as tasks
    except ImportError as e:
        sys.exit(f'error: cannot import ultralytics ({e})')
    if ultralytics.__version__ != '8.3.105':
        sys.exit(f'error: needs the P2HCT overlay on ultralytics 8.3.105, '
                 f'got {ultralytics.__version__} at {ultralytics.__file__}')
    if not all(hasattr(block, c) for c in ('PST', 'PSAttnBlock', 'PSAttn')) \
            or not hasattr(tasks, 'PST'):
        sys.exit(f'error: PST classes missing in {ultralytics.__file__}; '
                 'run with PYTHONPATH=<P2HCT overlay> (see the docstring)')
    return ultralytics, block, tasks


def set_topk(model, k):
    for m in model.modules():
        if type(m).__name__ == 'PSAttn':
            m.topk = k


@torch.no_grad()
def run(model, x):
    raw, dec = {}, {}
    for k in TOPKS:
        set_topk(model, k)
        y, xs = model(x.clone())
        raw[k] = [t.clone() for t in xs]
        dec[k] = y.clone()
    set_topk(model, 0)
    return raw, dec


def same(a, b):
    return all(torch.equal(a[k], b[k]) for k in TOPKS) if isinstance(
        a[TOPKS[0]], torch.Tensor) else all(
            len(a[k]) == len(b[k]) and all(
                torch.equal(u, v) for u, v in zip(a[k], b[k])) for k in TOPKS)


def main(out_dir):
    ultralytics, block, tasks = check_env()
    from ultralytics.cfg import get_cfg
    from ultralytics.utils import (DEFAULT_CFG, DEFAULT_CFG_DICT,
                                   DEFAULT_CFG_KEYS, ROOT, yaml_load)

    # official Gumbel noise off: selection = top-k of the mean logits
    block.PSAttn.gumbel_softmax = staticmethod(
        lambda logits: torch.softmax(logits, -1))
    torch.set_num_threads(1)
    os.makedirs(out_dir, exist_ok=True)
    names = yaml_load(ROOT / 'cfg' / 'datasets' / 'coco.yaml')['names']
    assert isinstance(names, dict) and len(names) == 80 and \
        names[0] == 'person'
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    torch.save({'input': x}, osp.join(out_dir, 'input.pt'))

    rows = []
    for yaml_name, scale in MODELS:
        name = osp.splitext(yaml_name)[0]
        d = tasks.yaml_model_load(yaml_name)  # as DetectionTrainer does
        assert d['yaml_file'] == yaml_name and d['scale'] in (scale, '')
        d['scale'] = scale
        model = tasks.DetectionModel(d, ch=3, nc=len(names), verbose=False)
        model.eval()
        model.load_state_dict(reference_weights(model))
        params = sum(p.numel() for p in model.parameters())

        # what DetectionTrainer.__init__ / set_model_attributes attach
        args = get_cfg(DEFAULT_CFG, dict(model=yaml_name, **TRAIN_OVERRIDES))
        args.name = 'train'
        args.save_dir = 'runs/detect/train'
        model.nc = len(names)
        model.names = names
        model.args = args

        raw, dec = run(model, x)
        assert [tuple(t.shape) for t in raw[0]] == [
            (1, 64 + 80, 96 // s, 128 // s) for s in (8, 16, 32)]
        assert not same(raw, {0: raw[8], 8: raw[0]}), 'topk had no effect'

        # the released best.pt: strip_optimizer(last.pt from save_model)
        skel = copy.deepcopy(model).half()
        keep = {k: v.clone() for k, v in skel.state_dict().items()
                if k.endswith(_KEEP)}
        skel = skeletonize(skel)
        for k, v in keep.items():  # frozen DFL weights are no weights
            mod, leaf = skel.get_submodule(k.rsplit('.', 1)[0]), \
                k.rsplit('.', 1)[1]
            setattr(mod, leaf, torch.nn.Parameter(v, requires_grad=False))
        skel.args = dict(skel.args)
        for p in skel.parameters():
            p.requires_grad = False
        zero = dict.fromkeys(RESULT_COLS[5:12], 0.0)
        ckpt = {
            'date': datetime(2025, 5, 1).isoformat(),
            'version': ultralytics.__version__,
            'license': 'AGPL-3.0 (https://ultralytics.com/license)',
            'docs': 'https://docs.ultralytics.com',
            'epoch': -1,
            'best_fitness': None,
            'model': skel,
            'ema': None,
            'updates': None,
            'optimizer': None,
            'train_args': {
                k: v
                for k, v in {**DEFAULT_CFG_DICT, **vars(args)}.items()
                if k in DEFAULT_CFG_KEYS
            },
            'train_metrics': {**zero, 'fitness': 0.0},
            'train_results': {c: [float(i + 1) if c == 'epoch' else 0.0
                                  for i in range(3)] for c in RESULT_COLS},
        }
        buf = io.BytesIO()
        torch.save(ckpt, buf)

        # reload as a test would: refill, fp32, same outputs
        back = torch.load(io.BytesIO(buf.getvalue()), map_location='cpu',
                          weights_only=False)['model']
        back.load_state_dict(reference_weights(back), assign=True)
        back = back.float().eval()
        assert sum(p.numel() for p in back.parameters()) == params
        raw2, dec2 = run(back, x)
        assert same(raw, raw2) and same(dec, dec2), f'{name}: not reproduced'

        io_dict = {'raw': raw, 'params': params, 'yaml': yaml_name,
                   'scale': scale}
        buf2 = io.BytesIO()
        torch.save(io_dict, buf2)
        chk = torch.load(io.BytesIO(buf2.getvalue()), weights_only=True)
        assert same(chk['raw'], raw)

        with open(osp.join(out_dir, f'{name}.pt'), 'wb') as f:
            f.write(buf.getvalue())
        with open(osp.join(out_dir, f'{name}_io.pt'), 'wb') as f:
            f.write(buf2.getvalue())
        amax = max(t.abs().max().item() for k in TOPKS for t in raw[k])
        dmax = max(dec[k].abs().max().item() for k in TOPKS)
        rows.append((name, params, len(buf.getvalue()), len(buf2.getvalue()),
                     amax, dmax))

    print(f'{"name":<12}{"params":>11}{"ckpt B":>10}{"io B":>10}'
          f'{"max|raw|":>11}{"max|dec|":>11}')
    for r in rows:
        print(f'{r[0]:<12}{r[1]:>11,}{r[2]:>10,}{r[3]:>10,}'
              f'{r[4]:>11.4g}{r[5]:>11.4g}')
    print(f'total {sum(r[2] + r[3] for r in rows):,} bytes')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(f'usage: PYTHONPATH=<overlay> python {sys.argv[0]} OUT_DIR')
    main(sys.argv[1])
