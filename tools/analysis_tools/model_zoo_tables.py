# Copyright (c) pst-mm contributors. All rights reserved.
"""Regenerate README.md's model-zoo tables (params and FLOPs of every
config in configs/pst_det and configs/pst_cls, and the R-50 RetinaNet
comparison of FPN, the attention-FPN baselines and PST-DET) with
get_flops.py's counter.

    python tools/analysis_tools/model_zoo_tables.py            # print
    python tools/analysis_tools/model_zoo_tables.py --write    # update README.md

The tables go between ``<!-- model-zoo:begin -->`` and
``<!-- model-zoo:end -->``; nothing else in the README is touched.
"""
import argparse
import glob
import os.path as osp
import sys

from get_flops import complexity_of_config
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BEGIN, END = '<!-- model-zoo:begin -->', '<!-- model-zoo:end -->'

# The paper's own numbers for the configs that build a paper model:
# config file name -> (source, params in M, GFLOPs as printed). The paper's
# FLOPs are Ultralytics' count (2 x multiply-adds at a 640x640 input), so the
# tables put ours at 640x640 beside them.
PAPER = {
    'paper_r18_8xb32-200e_in1k.py': ('Table 3', 17.9, 42.0),
    'paper_r18-pst-n_8xb32-200e_in1k.py': ('Table 3', 19.6, 43.0),
    'paper_r50_8xb32-200e_in1k.py': ('Table 3', 27.4, 71.0),
    'paper_r50-pst-n_8xb32-200e_in1k.py': ('Table 3', 29.2, 72.0),
    'paper_r101_8xb32-200e_in1k.py': ('Table 3', 46.4, 132.0),
    'paper_r101-pst-s_8xb32-200e_in1k.py': ('Table 3', 54.4, 140.0),
}


def paper_table(paths, shape):
    """Rows of the configs that build a paper model: our params and FLOPs
    beside the paper's, with the relative differences."""
    rows = [
        f'| config | paper | params (M) | paper params (M) | diff | GFLOPs '
        f'@{shape[0]}x{shape[1]} | paper GFLOPs | diff |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for path in paths:
        source, p_params, p_flops = PAPER[osp.basename(path)]
        stats = complexity_of_config(osp.join(REPO, path), shape)
        params, flops = stats['params'] / 1e6, stats['flops'] / 1e9
        rows.append(
            f'| `{osp.basename(path)}` | {source} | {params:.2f} | '
            f'{p_params:.1f} | {(params - p_params) / p_params:+.1%} | '
            f'{flops:.1f} | {p_flops:.0f} | '
            f'{(flops - p_flops) / p_flops:+.1%} |')
    return '\n'.join(rows)


def paper_configs():
    """Repository-relative paths of every config listed in ``PAPER``, in
    ``PAPER``'s order."""
    found = {
        osp.basename(p): osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                           recursive=True)
    }
    missing = [name for name in PAPER if name not in found]
    if missing:
        raise FileNotFoundError(f'paper configs not found: {missing}')
    return [found[name] for name in PAPER]


def table(folder, shape):
    rows = [
        f'| config | params (M) | GFLOPs @{shape[0]}x{shape[1]} | neck '
        'params (M) | neck GFLOPs | PSA attention GFLOPs (coarse / score / '
        'fine) |', '|---|---|---|---|---|---|'
    ]
    for path in sorted(glob.glob(osp.join(REPO, 'configs', folder, '*.py'))):
        stats = complexity_of_config(path, shape)
        att = stats['attention']
        neck_p = stats['params_by_part'].get('neck', 0)
        neck_f = stats['modules'].get('neck', 0)
        att_s = ' / '.join(f'{att[k] / 1e9:.3f}'
                           for k in ('coarse', 'score', 'fine')) \
            if att['coarse'] else '-'
        rows.append(f'| `{osp.basename(path)}` | {stats["params"] / 1e6:.2f} '
                    f'| {stats["flops"] / 1e9:.2f} | {neck_p / 1e6:.2f} | '
                    f'{neck_f / 1e9:.2f} | {att_s} |')
    return '\n'.join(rows)


def neck_comparison(paths, shape):
    """Rows of configs that differ only in the neck, the first being the
    FPN reference: whole-model and neck cost, and the extra GFLOPs."""
    rows = [
        f'| config | neck | params (M) | GFLOPs @{shape[0]}x{shape[1]} | '
        'neck params (M) | neck GFLOPs | GFLOPs vs FPN |',
        '|---|---|---|---|---|---|---|'
    ]
    reference = None
    for path in paths:
        stats = complexity_of_config(osp.join(REPO, path), shape)
        neck_p = stats['params_by_part']['neck']
        neck_f = stats['modules']['neck']
        if reference is None:
            reference = stats['flops']
        neck_type = Config.fromfile(osp.join(REPO, path)).model.neck.type
        rows.append(
            f'| `{osp.basename(path)}` | `{neck_type}` | '
            f'{stats["params"] / 1e6:.2f} | {stats["flops"] / 1e9:.2f} | '
            f'{neck_p / 1e6:.2f} | {neck_f / 1e9:.2f} | '
            f'{(stats["flops"] - reference) / 1e9:+.2f} |')
    return '\n'.join(rows)


BASELINE_ROWS = [
    'configs/pst_det/retinanet_r50_fpn_1x_coco.py',
    *sorted(
        osp.relpath(p, REPO) for p in glob.glob(
            osp.join(REPO, 'configs', 'baselines', 'retinanet_r50_*.py'))),
    'configs/pst_det/retinanet_r50_pst-n_1x_coco.py',
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--write', action='store_true',
                        help='replace the tables in README.md')
    args = parser.parse_args()
    text = '\n\n'.join([
        'The paper\'s own models, beside the paper\'s printed numbers '
        '(params within 1 % is the fidelity bar; the paper\'s FLOPs are '
        'Ultralytics\' count at 640×640, so ours are at 640×640 too, '
        'whatever input the task trains at):',
        paper_table(paper_configs(), (640, 640)),
        'Detection (`configs/pst_det/`), 640×640, eval, `mode=\'tensor\'` '
        '(no NMS), fine attention at the config\'s top-8:',
        table('pst_det', (640, 640)),
        'Classification (`configs/pst_cls/`), 224×224:',
        table('pst_cls', (224, 224)),
        'R-50 RetinaNet 1x with FPN, each attention-FPN baseline '
        '(`configs/baselines/`) and PST-DET-N, 640×640, same counter:',
        neck_comparison(BASELINE_ROWS, (640, 640)),
        'Generated by `python tools/analysis_tools/model_zoo_tables.py '
        '--write`; FLOPs = 2 × multiply-adds, attention included.'
    ])
    if not args.write:
        print(text)
        return
    readme = osp.join(REPO, 'README.md')
    with open(readme, encoding='utf-8') as f:
        content = f.read()
    if content.count(BEGIN) != 1 or content.count(END) != 1:
        print(f'README.md needs exactly one {BEGIN} ... {END} block',
              file=sys.stderr)
        sys.exit(1)
    head, rest = content.split(BEGIN)
    _, tail = rest.split(END)
    with open(readme, 'w', encoding='utf-8') as f:
        f.write(f'{head}{BEGIN}\n{text}\n{END}{tail}')
    print(f'updated {readme}')


if __name__ == '__main__':
    main()
