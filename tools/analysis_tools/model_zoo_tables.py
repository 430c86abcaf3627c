# Copyright (c) pst-mm contributors. All rights reserved.
"""Regenerate README.md's model-zoo tables (params and FLOPs of every
config in configs/pst_det, configs/yolo_pst and configs/pst_cls, the
paper's models beside the paper's numbers, and the R-50 RetinaNet
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
    # Table 1 (ResNet + PST neck + YOLOv11 head) and Table 2
    'yolo_r18_pst-n_8xb16-600e_coco.py': ('Table 1', 16.4, 42.5),
    'yolo_r50_pst-n_8xb16-600e_coco.py': ('Table 1', 26.0, 71.9),
    'yolo_r101_pst-s_8xb16-600e_coco.py': ('Table 1', 49.9, 138.5),
    'yolo11-n_8xb16-600e_coco.py': ('Table 2', 2.6, 6.5),
    'yolo11-pst-n_8xb16-600e_coco.py': ('Table 2', 2.8, 10.1),
    'yolo11-s_8xb16-600e_coco.py': ('Table 2', 9.4, 21.5),
    'yolo11-pst-s_8xb16-600e_coco.py': ('Table 2', 9.3, 21.0),
    'yolo11-m_8xb16-600e_coco.py': ('Table 2', 20.1, 68.0),
    'yolo11-pst-m_8xb16-600e_coco.py': ('Table 2', 19.5, 65.9),
}


# What the authors' released code builds (their yamls through Ultralytics'
# model parser), in M parameters, where it differs from what the paper
# prints; ../shared/design/YOLO_TRACK.md section 3 and PST_OFFICIAL_CODE.md.
OFFICIAL = {
    'paper_r18_8xb32-200e_in1k.py': 17.85,
    'paper_r18-pst-n_8xb32-200e_in1k.py': 19.70,
    'paper_r50_8xb32-200e_in1k.py': 27.41,
    'paper_r50-pst-n_8xb32-200e_in1k.py': 29.26,
    'paper_r101_8xb32-200e_in1k.py': 46.41,
    'paper_r101-pst-s_8xb32-200e_in1k.py': 54.42,
    'yolo_r18_pst-n_8xb16-600e_coco.py': 16.49,
    'yolo_r50_pst-n_8xb16-600e_coco.py': 26.05,
    'yolo_r101_pst-s_8xb16-600e_coco.py': 50.28,
    'yolo11-n_8xb16-600e_coco.py': 2.624,
    'yolo11-pst-n_8xb16-600e_coco.py': 2.617,
    'yolo11-s_8xb16-600e_coco.py': 9.459,
    'yolo11-pst-s_8xb16-600e_coco.py': 9.320,
    'yolo11-m_8xb16-600e_coco.py': 20.115,
    'yolo11-pst-m_8xb16-600e_coco.py': 20.177,
}


def paper_table(paths, shape):
    """Rows of the configs that build a paper model: our params and FLOPs
    beside the paper's, with the relative differences."""
    rows = [
        f'| config | paper | params (M) | paper params (M) | diff | GFLOPs '
        f'@{shape[0]}x{shape[1]} | paper GFLOPs | diff | official build '
        'params (M) | diff |', '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for path in paths:
        source, p_params, p_flops = PAPER[osp.basename(path)]
        stats = complexity_of_config(osp.join(REPO, path), shape)
        params, flops = stats['params'] / 1e6, stats['flops'] / 1e9
        rows.append(
            f'| `{osp.basename(path)}` | {source} | {params:.2f} | '
            f'{p_params:.1f} | {(params - p_params) / p_params:+.1%} | '
            f'{flops:.1f} | {p_flops:g} | '
            f'{(flops - p_flops) / p_flops:+.1%} | '
            f'{official_cells(path, params)} |')
    return '\n'.join(rows)


def official_cells(path, params):
    """The official build's count and our difference to it, or '-'."""
    official = OFFICIAL.get(osp.basename(path))
    if official is None:
        return '- | -'
    return f'{official:g} | {(params - official) / official:+.1%}'


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
        'The paper\'s own models, beside the paper\'s printed numbers and '
        'the authors\' released build (params within 1 % of that build is '
        'the fidelity bar; where the paper prints another count, e.g. '
        'Table 2\'s YOLOv11-PST-N/M, the released code does not build it; '
        'the paper\'s FLOPs are '
        'Ultralytics\' count at 640×640, so ours are at 640×640 too, '
        'whatever input the task trains at):',
        paper_table(paper_configs(), (640, 640)),
        'Detection (`configs/pst_det/`), 640×640, eval, `mode=\'tensor\'` '
        '(no NMS), fine attention at the config\'s top-8:',
        table('pst_det', (640, 640)),
        'YOLO-class detectors of Tables 1 and 2 (`configs/yolo_pst/`: '
        'YOLOv11-PST, plain YOLOv11, the layout-matched `yolo12-*` '
        'baselines, ResNet + PST with the YOLOv11 head), 640×640, eval, '
        '`mode=\'tensor\'`, coarse-only PSTs (the configs\' default, as '
        'the released code evaluates); the attention column '
        'counts every scaled-dot-product attention, C2PSA\'s and A2C2f\'s '
        'included (Ultralytics\' counter, and so the paper, counts none):',
        table('yolo_pst', (640, 640)),
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
