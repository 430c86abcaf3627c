# Copyright (c) pst-mm contributors. All rights reserved.
"""Train configs over several seeds and evaluate each checkpoint under
several test-time settings; print a markdown table of mean and spread.

It answers "is the PST neck as stable as FPN?" and "does fine attention at
test time help a model trained coarse-only?" from real runs::

    python tools/analysis_tools/seed_study.py \
        configs/demo/retinanet_r18_fpn_1xb8-24e_pst-demo.py \
        configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py \
        --seeds 0 1 2 --epochs 10 --work-dir work_dirs/seed_study \
        --variant coarse model.neck.pst_cfg.topk=0 \
        --variant top8 model.neck.pst_cfg.topk=8

Every config is trained once per seed (``randomness.seed``) with
``tools/train.py`` and every checkpoint is evaluated once per
``--variant NAME [KEY=VALUE ...]`` with ``tools/test.py``; a variant whose
options do not apply to a config (e.g. ``model.neck.pst_cfg.topk`` on FPN) is
skipped for it. Finished trainings and evaluations are reused (the results
are cached as JSON in the work dir), so an interrupted study resumes.

``--data NAME ROOT`` (repeatable) trains and evaluates every detection
config on a COCO-format set instead of its own data: the set's root and
class names (from its annotation file) replace the config's. A run whose
evaluation finds no detection above the test score threshold at all counts
as mAP 0 and in the ``no det`` column. The held-out study of ``PSTFPN``::

    python tools/misc/make_demo_data.py faces data/heldout_faces
    python tools/misc/make_demo_data.py shapes data/heldout_shapes
    python tools/analysis_tools/seed_study.py \
        configs/demo/retinanet_r18_fpn_1xb4-300i_heldout.py \
        configs/demo/retinanet_r18_pst-n_1xb4-300i_heldout.py \
        --data faces data/heldout_faces --data shapes data/heldout_shapes \
        --seeds 0 1 2 3 4 5 --work-dir work_dirs/heldout_study
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METRIC_PREFIX = '[pst-mm] test metrics: '


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument(
        '--seeds', nargs='+', type=int, default=[0, 1, 2], help='seeds')
    parser.add_argument(
        '--epochs',
        type=int,
        help='shorten training to this many epochs (the cosine schedule, '
        'validation and checkpoint intervals follow)')
    parser.add_argument(
        '--work-dir', required=True, help='where runs and results go')
    parser.add_argument(
        '--variant',
        nargs='+',
        action='append',
        metavar=('NAME', 'KEY=VALUE'),
        help='a test-time setting: a name and --cfg-options for tools/test.py '
        '(repeatable); defaults to one variant "default" with no options')
    parser.add_argument(
        '--cfg-options',
        nargs='*',
        default=[],
        help='extra --cfg-options for every training and evaluation run '
        '(e.g. data loader settings)')
    parser.add_argument(
        '--data',
        nargs=2,
        action='append',
        metavar=('NAME', 'ROOT'),
        help='a COCO-format detection set to train and evaluate every '
        'config on instead of its own data (repeatable): ROOT holds train/, '
        'val/ and annotations/instances_{train,val}.json')
    parser.add_argument(
        '--metric',
        help='metric key to tabulate; defaults to coco/bbox_mAP for '
        'detection and accuracy/top1 for classification')
    parser.add_argument(
        '--repo',
        default=REPO,
        help='the pst-mm checkout whose tools and package run (compare two '
        'versions of the code with the same study tool)')
    args = parser.parse_args(argv)
    args.variant = args.variant or [['default']]
    names = [name for name, _ in args.data or []]
    bad = [n for n in names if not n.replace('-', '').replace('_', '')
           .isalnum() or n == 'own']
    if bad or len(set(names)) != len(names):
        parser.error(f'--data names must be distinct, made of letters, '
                     f'digits, - and _, and not "own"; got {names}')
    try:
        args.data = [(name, root, data_options(root))
                     for name, root in args.data or []]
    except ValueError as e:
        parser.error(str(e))
    for v in args.variant:
        bad = [o for o in v[1:] if '=' not in o]
        if bad:
            parser.error(f'variant {v[0]!r}: options must be KEY=VALUE, '
                         f'got {bad}')
    return args


def _schedule_options(epochs: Optional[int]) -> List[str]:
    """cfg-options that shorten the demo configs' epoch-based schedule."""
    if epochs is None:
        return []
    return [
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        f'param_scheduler.1.end={epochs}', f'param_scheduler.1.T_max={epochs}',
        f'default_hooks.checkpoint.interval={epochs}'
    ]


def data_options(root: str) -> List[str]:
    """cfg-options that train and test a detection config on the COCO set
    at ``root`` (its classes from ``annotations/instances_train.json``)."""
    root = osp.abspath(root)
    cats = None
    for split in ('train', 'val'):
        ann = osp.join(root, 'annotations', f'instances_{split}.json')
        try:
            with open(ann) as f:
                these = json.load(f)['categories']
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f'--data {root}: cannot read the categories of '
                             f'{ann} ({type(e).__name__}: {e})') from None
        names = [c['name'] for c in sorted(these, key=lambda c: c['id'])]
        if cats is not None and names != cats:
            raise ValueError(f'--data {root}: train and val categories '
                             f'differ ({cats} vs {names})')
        cats = names
    bad = [n for n in cats if not n or any(ch in n for ch in ',()[]\'" =')]
    if not cats or bad:
        raise ValueError(f'--data {root}: class names must be non-empty and '
                         f'free of brackets, commas, quotes, spaces and =, '
                         f'got {bad or cats}')
    classes = '(' + ','.join(cats) + (',)' if len(cats) == 1 else ')')
    opts = [f'model.bbox_head.num_classes={len(cats)}']
    for split in ('train', 'val', 'test'):
        key = f'{split}_dataloader.dataset'
        opts += [
            f'{key}.data_root={root}/', f'{key}.metainfo.classes={classes}'
        ]
    for split in ('val', 'test'):
        opts.append(f'{split}_evaluator.ann_file='
                    f'{root}/annotations/instances_val.json')
    return opts


def _run(cmd: List[str], repo: str, log: str) -> str:
    env = dict(os.environ, PYTHONPATH=repo + os.pathsep +
               os.environ.get('PYTHONPATH', ''))
    with open(log, 'w') as f:
        proc = subprocess.run(
            cmd, cwd=repo, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        f.write(proc.stdout)
    if proc.returncode != 0:
        tail = '\n'.join(proc.stdout.splitlines()[-20:])
        raise RuntimeError(f'{" ".join(cmd)} failed (rc={proc.returncode}); '
                           f'log {log}:\n{tail}')
    return proc.stdout


def _accepts(type_name: str, scope: str, key: str) -> bool:
    """Whether the registered class ``type_name`` takes argument ``key``."""
    import inspect

    import pst_mm  # noqa: F401  (registers our modules)
    from mmengine.registry import DefaultScope
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        cls = MODELS.get(type_name)
    if cls is None:
        return False
    params = inspect.signature(cls.__init__).parameters
    return key in params or any(
        p.kind is p.VAR_KEYWORD for p in params.values())


def _applies(cfg_path: str, options: Sequence[str]) -> bool:
    """Whether every KEY of the options exists in the config or is an
    argument of the module its parent dict builds."""
    from mmengine.config import Config
    cfg = Config.fromfile(cfg_path)
    for opt in options:
        node = cfg
        keys = opt.split('=', 1)[0].split('.')
        for i, key in enumerate(keys):
            if isinstance(node, (list, tuple)) and key.isdigit() \
                    and int(key) < len(node):
                node = node[int(key)]
            elif hasattr(node, 'get') and key in node:
                node = node[key]
            elif i == len(keys) - 1 and hasattr(node, 'get') \
                    and 'type' in node:
                if not _accepts(node['type'],
                                cfg.get('default_scope', 'mmdet'), key):
                    return False
            else:
                return False
    return True


Results = Dict[Tuple[str, str], Dict[str, Dict[int, Optional[float]]]]


def run_study(args) -> Results:
    """Returns ``{(config, data): {variant: {seed: metric}}}``; the metric
    is None for a detection run with no detection at all and ``data`` is
    ``'own'`` for the config's own data."""
    os.makedirs(args.work_dir, exist_ok=True)
    cache_file = osp.join(args.work_dir, 'results.json')
    cache = json.load(open(cache_file)) if osp.isfile(cache_file) else {}
    py = sys.executable
    results: Results = {}
    data_sets = args.data or [('own', None, [])]
    for cfg_path in args.configs:
        name = osp.splitext(osp.basename(cfg_path))[0]
        full_cfg = osp.join(args.repo, cfg_path)
        variants = [v for v in args.variant if _applies(full_cfg, v[1:])]
        for data, _root, data_opts in data_sets:
            if data_opts and not _applies(full_cfg, data_opts):
                raise ValueError(
                    f'--data {data}: {cfg_path} is not a detection config '
                    f'whose dataloaders hold a CocoDataset directly')
            run_name = name if data == 'own' else f'{name}_{data}'
            results[(name, data)] = {v[0]: {} for v in variants}
            for seed in args.seeds:
                run_dir = osp.abspath(
                    osp.join(args.work_dir, f'{run_name}_s{seed}'))
                ckpt = osp.join(run_dir, 'final.pth')
                common = data_opts + list(args.cfg_options)
                if not osp.isfile(ckpt):
                    opts = [f'randomness.seed={seed}'] + _schedule_options(
                        args.epochs) + common
                    _run([
                        py, 'tools/train.py', cfg_path, '--work-dir',
                        run_dir, '--no-validate', '--cfg-options', *opts
                    ], args.repo, osp.join(run_dir + '_train.log'))
                    with open(osp.join(run_dir, 'last_checkpoint')) as f:
                        last = f.read().strip()
                    os.replace(last, ckpt)
                for variant in variants:
                    key = f'{run_name}|s{seed}|{" ".join(variant)}'
                    if key not in cache:
                        cmd = [
                            py, 'tools/test.py', cfg_path, ckpt,
                            '--work-dir',
                            osp.join(run_dir, 'test')
                        ]
                        opts = common + variant[1:]
                        if opts:
                            cmd += ['--cfg-options', *opts]
                        out = _run(cmd, args.repo,
                                   osp.join(run_dir, f'test_{variant[0]}.log'))
                        line = [ln for ln in out.splitlines()
                                if ln.startswith(METRIC_PREFIX)][-1]
                        cache[key] = json.loads(line[len(METRIC_PREFIX):])
                        _save_result(cache_file, key, cache[key])
                    results[(name, data)][variant[0]][seed] = _metric(
                        cache[key], args.metric, key)
    return results


def _save_result(cache_file: str, key: str, metrics: dict) -> None:
    """Add one result to the cache file as it is on disk now, so that two
    studies sharing a work dir (e.g. one per config, run side by side) do
    not drop each other's results."""
    cache = json.load(open(cache_file)) if osp.isfile(cache_file) else {}
    cache[key] = metrics
    tmp = f'{cache_file}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(cache, f, indent=1)
    os.replace(tmp, cache_file)


def _metric(metrics: dict, name: Optional[str], key: str) -> Optional[float]:
    """The tabulated metric; None when a detector predicted nothing (mmdet's
    CocoMetric then logs "The testing results of the whole dataset is
    empty" and returns no metric at all)."""
    if not metrics:
        return None
    name = name or ('coco/bbox_mAP'
                    if 'coco/bbox_mAP' in metrics else 'accuracy/top1')
    if name not in metrics:
        raise KeyError(f'{key}: no metric {name!r} among {sorted(metrics)}')
    return float(metrics[name])


def format_table(results: Results, seeds: Sequence[int]) -> str:
    """Markdown: one row per (config, data, variant), a column per seed,
    then mean, sample standard deviation, min, range (max - min) and the
    number of runs without any detection (counted as 0 in the others)."""
    head = ['config', 'data', 'test setting'] + [
        f'seed {s}' for s in seeds
    ] + ['mean', 'std', 'min', 'range', 'no det']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for (name, data), variants in results.items():
        for variant, per_seed in variants.items():
            raw = [per_seed[s] for s in seeds]
            vals = [0.0 if v is None else v for v in raw]
            std = statistics.stdev(vals) if len(vals) > 1 else 0.0
            cells = [name, data, variant] + [
                'none' if v is None else f'{v:.3f}' for v in raw
            ] + [
                f'{statistics.mean(vals):.3f}', f'{std:.3f}',
                f'{min(vals):.3f}', f'{max(vals) - min(vals):.3f}',
                str(raw.count(None))
            ]
            lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        results = run_study(args)
    except ValueError as e:  # a config that --data cannot apply to
        sys.exit(f'seed_study: {e}')
    print(format_table(results, args.seeds))


if __name__ == '__main__':
    main()
