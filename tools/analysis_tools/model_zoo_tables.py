# Copyright (c) pst-mm contributors. All rights reserved.
"""Generate the model-zoo tables of README.md and of every method page
(``configs/<method>/README.md``), each folder's ``metafile.yml`` and the root
``model-index.yml`` from the configs, with get_flops.py's counter.

    python tools/analysis_tools/model_zoo_tables.py            # print
    python tools/analysis_tools/model_zoo_tables.py --write    # update files
    python tools/analysis_tools/model_zoo_tables.py --check    # 1: differs
    python tools/analysis_tools/model_zoo_tables.py --check --quick

The tables go between ``<!-- model-zoo:begin -->`` and
``<!-- model-zoo:end -->`` of each page; nothing else on a page is touched.
``--quick`` counts the parameters of every config exactly but FLOPs only
for the first row and the first PST/SPT row of every table (the other
FLOPs cells match anything): the full count takes several minutes on two
CPU cores, the quick one about two.
"""
import argparse
import difflib
import glob
import math
import os.path as osp
import re
import sys
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from get_flops import complexity_of_config  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BEGIN, END = '<!-- model-zoo:begin -->', '<!-- model-zoo:end -->'
UNKNOWN = '?'  # a cell whose number --quick did not count

# The paper's own numbers for the configs that build a paper model:
# config file name -> (source, params in M, GFLOPs as printed). The paper's
# FLOPs are Ultralytics' count (2 x multiply-adds at a 640x640 input), so the
# tables put ours at 640x640 beside them.
PAPER = {
    'bottleneck-r18_8xb32-200e_in1k.py': ('Table 3', 17.9, 42.0),
    'bottleneck-r18_pst-n_8xb32-200e_in1k.py': ('Table 3', 19.6, 43.0),
    'bottleneck-r50_8xb32-200e_in1k.py': ('Table 3', 27.4, 71.0),
    'bottleneck-r50_pst-n_8xb32-200e_in1k.py': ('Table 3', 29.2, 72.0),
    'bottleneck-r101_8xb32-200e_in1k.py': ('Table 3', 46.4, 132.0),
    'bottleneck-r101_pst-s_8xb32-200e_in1k.py': ('Table 3', 54.4, 140.0),
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
# model parser, github.com/inlmouse/P2HCT), in M parameters, where it
# differs from what the paper prints; configs/yolo_pst/README.md and
# configs/pst_cls/README.md say how the two differ.
OFFICIAL = {
    'bottleneck-r18_8xb32-200e_in1k.py': 17.85,
    'bottleneck-r18_pst-n_8xb32-200e_in1k.py': 19.70,
    'bottleneck-r50_8xb32-200e_in1k.py': 27.41,
    'bottleneck-r50_pst-n_8xb32-200e_in1k.py': 29.26,
    'bottleneck-r101_8xb32-200e_in1k.py': 46.41,
    'bottleneck-r101_pst-s_8xb32-200e_in1k.py': 54.42,
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

# SPT paper (arXiv 2410.23608) parameter counts, Table 1 and App. B.2, in M.
SPT_PAPER = {
    'mask-rcnn_spt-t-p4-w7_fpn_ms-crop-3x_coco.py': ('Table 1', 55),
    'mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py': ('Table 1', 48),
    'mask-rcnn_spt-s-p4-w7_fpn_amp-ms-crop-3x_coco.py': ('Table 1', 76),
    'mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py': ('Table 1', 69),
    'cascade-mask-rcnn_spt-b-p4-w7_fpn_ms-3x_coco.py': ('Table 1', 153),
    'cascade-mask-rcnn_swin-b-p4-w7_fpn_ms-3x_coco.py': ('Table 1', 145),
    'faster-rcnn_spt-t12-p4-w7_fpn_ms-crop-3x_bdd100k.py': ('App. B.2', 48),
}

# Metrics measured in this repository (the only results a metafile lists):
# config file name -> [(task, dataset, {metric: value}, command)]. Each is
# what the command printed; the demo page (configs/demo/README.md) has the
# runs.
MEASURED = {
    'retinanet_r18_pst-n_1xb8-24e_pst-demo.py':
    [('Object Detection', 'pst-demo-det', {'box AP': 71.4},
      'bash tools/run_demo.sh')],
    'resnet18_pst-n_1xb16-30e_pst-demo.py':
    [('Image Classification', 'pst-demo-cls', {'Top 1 Accuracy': 97.9},
      'bash tools/run_demo.sh cls')],
    'yolo11-pst-n_1xb8-30e_pst-demo.py':
    [('Object Detection', 'pst-demo-det', {'box AP': 79.3},
      'bash tools/run_demo.sh yolo')],
    'retinanet_spt-tiny_fpn_1xb8-12e_pst-demo.py':
    [('Object Detection', 'pst-demo-det', {'box AP': 57.5},
      'bash tools/run_demo.sh spt')],
    'retinanet_swin-tiny_fpn_1xb8-12e_pst-demo.py':
    [('Object Detection', 'pst-demo-det', {'box AP': 62.4},
      'bash tools/run_demo.sh spt')],
}

PST_PAPER = dict(
    Title='Pyramid Sparse Transformer: Efficient Multi-Scale Feature Fusion '
    'with Dynamic Token Selection',
    URL='https://arxiv.org/abs/2505.12772')
SPT_PAPER_REF = dict(
    Title='Enhancing Vision Transformers for Object Detection via '
    'Context-Aware Token Selection and Packing',
    URL='https://arxiv.org/abs/2410.23608')

# One collection per method folder, in the order of README.md's overview.
FOLDERS = {
    'pst_det': dict(name='PST-DET', method='PST-DET (`PSTFPN`), RetinaNet '
                    'and RTMDet', task='Object Detection', paper=PST_PAPER,
                    architecture=['PSTFPN', 'RetinaNet', 'RTMDet']),
    'yolo_pst': dict(name='YOLO-PST', method='YOLOv11-PST and R-PST '
                     '(paper Tables 1, 2)', task='Object Detection',
                     paper=PST_PAPER,
                     architecture=['YOLO11Backbone', 'YOLOPSTNeck',
                                   'YOLOv11Head']),
    'pst_cls': dict(name='PST-CLS', method='PST-CLS (`PSTClsNeck`), paper '
                    'Table 3', task='Image Classification', paper=PST_PAPER,
                    architecture=['ResNet', 'PSTClsNeck']),
    'baselines': dict(name='Attention-FPN baselines', method='A²-FPN, AFPN, '
                      'AC-FPN, SA-FPN (RetinaNet)', task='Object Detection',
                      paper=None,
                      architecture=['A2FPN', 'A2FPNLite', 'AttentionalFPN',
                                    'ACFPN', 'SAFPN']),
    'spt': dict(name='SPT', method='Select-and-Pack Transformer',
                task='Object Detection', paper=SPT_PAPER_REF,
                architecture=['SPT', 'Swin Transformer']),
    'demo': dict(name='CPU demos', method='the CPU demos (small sets of '
                 'real photographs)', task='Object Detection', paper=None,
                 architecture=['PSTFPN', 'PSTClsNeck', 'SPT']),
}

Stats = Callable[[str, Tuple[int, int]], dict]


def configs_of(folder: str) -> List[str]:
    """Repository-relative paths of the configs of ``configs/<folder>``."""
    return sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', folder, '*.py')))


def num(value: float, spec: str) -> str:
    """``value`` formatted with ``spec``, or ``UNKNOWN`` if not counted."""
    return UNKNOWN if math.isnan(value) else format(value, spec)


def exact_stats(path: str, shape: Tuple[int, int]) -> dict:
    """get_flops.py's numbers for ``path`` at ``shape``; for the SPT
    folder, whose two-stage detectors cannot run in ``mode='tensor'``, the
    backbone's (see :func:`backbone_stats`)."""
    if path.startswith('configs/spt/'):
        return backbone_stats(path, shape)
    options = None
    if 'spt' in osp.basename(path):
        options = {'model.backbone.select_thr': 1e-6}
    return complexity_of_config(osp.join(REPO, path), shape,
                                cfg_options=options)


def backbone_stats(path: str,
                   shape: Tuple[int, int],
                   count: bool = True) -> dict:
    """Parameters of ``path`` and FLOPs of its backbone alone (``flops`` is
    None). SPT backbones are counted with every token selected (a
    threshold no random-init gate fails), the most they can cost: what
    trained gates select depends on the image."""
    import torch
    from pst_mm.utils import build_model_from_config, top_level_parts
    from pst_mm.utils.complexity import count_complexity
    options = None
    if 'spt' in osp.basename(path):
        options = {'model.backbone.select_thr': 1e-6}
    _, model = build_model_from_config(osp.join(REPO, path), options)
    backbone = float('nan')
    if count:
        model.backbone.eval()  # mmdet's SwinTransformer.train() returns None
        with torch.no_grad():
            backbone = count_complexity(model.backbone,
                                        (torch.rand(1, 3, *shape), ))['flops']
    nan = float('nan')
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        params_by_part={
            p: sum(x.numel() for x in getattr(model, p).parameters())
            for p in top_level_parts(model)
        },
        flops=None,
        modules={'backbone': backbone},
        attention=dict(coarse=nan, score=nan, fine=nan))


def params_only_stats(path: str, shape: Tuple[int, int]) -> dict:
    """Parameter counts of ``path`` (exact) with every FLOPs number NaN:
    builds the model but does not run it."""
    if path.startswith('configs/spt/'):
        return backbone_stats(path, shape, count=False)
    from pst_mm.utils import build_model_from_config, top_level_parts
    _, model = build_model_from_config(osp.join(REPO, path))
    parts = top_level_parts(model)
    nan = float('nan')
    return dict(
        params=sum(p.numel() for p in model.parameters()),
        params_by_part={
            p: sum(x.numel() for x in getattr(model, p).parameters())
            for p in parts
        },
        flops=nan,
        modules={p: nan
                 for p in parts},
        attention=dict(coarse=nan, score=nan, fine=nan),
        backbone_flops=nan)


class CachedStats:
    """A stats function that counts each (config, shape) once: exactly for
    the pairs ``exact`` accepts (all by default), parameters only for the
    others."""

    def __init__(self,
                 exact: Optional[Callable[[str], bool]] = None) -> None:
        self.exact = exact
        self.cache: Dict[Tuple[str, Tuple[int, int]], dict] = {}

    def __call__(self, path: str, shape: Tuple[int, int]) -> dict:
        key = (path, tuple(shape))
        if key not in self.cache:
            full = self.exact is None or self.exact(path)
            self.cache[key] = (exact_stats if full else params_only_stats)(
                path, tuple(shape))
        return self.cache[key]


def paper_table(paths: Sequence[str], shape: Tuple[int, int],
                stats: Stats = exact_stats) -> str:
    """Rows of the configs that build a paper model: our params and FLOPs
    beside the paper's, with the relative differences."""
    rows = [
        f'| config | paper | params (M) | paper params (M) | diff | GFLOPs '
        f'@{shape[0]}x{shape[1]} | paper GFLOPs | diff | official build '
        'params (M) | diff |', '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for path in paths:
        source, p_params, p_flops = PAPER[osp.basename(path)]
        s = stats(path, shape)
        params, flops = s['params'] / 1e6, s['flops'] / 1e9
        rows.append(
            f'| `{osp.basename(path)}` | {source} | {params:.2f} | '
            f'{p_params:.1f} | {(params - p_params) / p_params:+.1%} | '
            f'{num(flops, ".1f")} | {p_flops:g} | '
            f'{num((flops - p_flops) / p_flops, "+.1%")} | '
            f'{official_cells(path, params)} |')
    return '\n'.join(rows)


def official_cells(path: str, params: float) -> str:
    """The official build's count and our difference to it, or '-'."""
    official = OFFICIAL.get(osp.basename(path))
    if official is None:
        return '- | -'
    return f'{official:g} | {(params - official) / official:+.1%}'


def paper_configs(folder: Optional[str] = None) -> List[str]:
    """Repository-relative paths of every config listed in ``PAPER`` (of
    ``configs/<folder>`` only, if given), in ``PAPER``'s order."""
    found = {
        osp.basename(p): osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                           recursive=True)
    }
    missing = [name for name in PAPER if name not in found]
    if missing:
        raise FileNotFoundError(f'paper configs not found: {missing}')
    paths = [found[name] for name in PAPER]
    if folder is not None:
        paths = [p for p in paths if p.split('/')[1] == folder]
    return paths


def table(folder: str, shape: Tuple[int, int], stats: Stats = exact_stats,
          paths: Optional[Sequence[str]] = None) -> str:
    """Params and FLOPs of the configs of ``configs/<folder>`` (or of
    ``paths``): whole model, neck, and the PSA attention passes."""
    rows = [
        f'| config | params (M) | GFLOPs @{shape[0]}x{shape[1]} | neck '
        'params (M) | neck GFLOPs | PSA attention GFLOPs (coarse / score / '
        'fine) |', '|---|---|---|---|---|---|'
    ]
    for path in paths if paths is not None else configs_of(folder):
        s = stats(path, shape)
        att = s['attention']
        neck_p = s['params_by_part'].get('neck', 0)
        neck_f = s['modules'].get('neck', 0)
        if math.isnan(att['coarse']):
            att_s = UNKNOWN
        elif att['coarse']:
            att_s = ' / '.join(f'{att[k] / 1e9:.3f}'
                               for k in ('coarse', 'score', 'fine'))
        else:
            att_s = '-'
        rows.append(f'| `{osp.basename(path)}` | {s["params"] / 1e6:.2f} '
                    f'| {num(s["flops"] / 1e9, ".2f")} | {neck_p / 1e6:.2f} '
                    f'| {num(neck_f / 1e9, ".2f")} | {att_s} |')
    return '\n'.join(rows)


def neck_comparison(paths: Sequence[str], shape: Tuple[int, int],
                    stats: Stats = exact_stats) -> str:
    """Rows of configs that differ only in the neck, the first being the
    FPN reference: whole-model and neck cost, and the extra GFLOPs."""
    rows = [
        f'| config | neck | params (M) | GFLOPs @{shape[0]}x{shape[1]} | '
        'neck params (M) | neck GFLOPs | GFLOPs vs FPN |',
        '|---|---|---|---|---|---|---|'
    ]
    reference = None
    for path in paths:
        s = stats(path, shape)
        neck_p = s['params_by_part']['neck']
        neck_f = s['modules']['neck']
        if reference is None:
            reference = s['flops']
        neck_type = Config.fromfile(osp.join(REPO, path)).model.neck.type
        rows.append(
            f'| `{osp.basename(path)}` | `{neck_type}` | '
            f'{s["params"] / 1e6:.2f} | {num(s["flops"] / 1e9, ".2f")} | '
            f'{neck_p / 1e6:.2f} | {num(neck_f / 1e9, ".2f")} | '
            f'{num((s["flops"] - reference) / 1e9, "+.2f")} |')
    return '\n'.join(rows)


def spt_table(paths: Sequence[str], shape: Tuple[int, int],
              stats: Stats = exact_stats) -> str:
    """SPT and Swin twins: params beside the paper's, and backbone FLOPs
    with every token selected."""
    rows = [
        f'| config | paper | params (M) | paper params (M) | backbone GFLOPs '
        f'@{shape[0]}x{shape[1]} |', '|---|---|---|---|---|'
    ]
    for path in paths:
        s = stats(path, shape)
        source, p_params = SPT_PAPER.get(osp.basename(path), ('-', None))
        backbone = s['modules']['backbone']
        rows.append(
            f'| `{osp.basename(path)}` | {source} | {s["params"] / 1e6:.2f} '
            f'| {"-" if p_params is None else p_params} | '
            f'{num(backbone / 1e9, ".1f")} |')
    return '\n'.join(rows)


def baseline_rows(depth: int) -> List[str]:
    """The R-``depth`` RetinaNet comparison: FPN, the five baselines,
    PST-DET."""
    pst = 'pst-n' if depth < 101 else 'pst-s'
    return [
        f'configs/pst_det/retinanet_r{depth}_fpn_1x_coco.py',
        *[
            p for p in configs_of('baselines')
            if osp.basename(p).startswith(f'retinanet_r{depth}_')
        ],
        f'configs/pst_det/retinanet_r{depth}_{pst}_1x_coco.py',
    ]


BASELINE_ROWS = baseline_rows(50)


def _scope_is_cls(path: str) -> bool:
    """Whether ``path`` is an mmpretrain (classification) config."""
    cfg = Config.fromfile(osp.join(REPO, path))
    return cfg.get('default_scope', 'mmdet') == 'mmpretrain'


def page_blocks() -> Dict[str, List[tuple]]:
    """What each page's generated block holds: page -> [text, or
    (kind, paths, shape)], in order. The shapes are the input sizes each
    table and metafile counts at."""
    det640 = (640, 640)
    cls_paper = paper_configs('pst_cls')
    yolo_paper = paper_configs('yolo_pst')
    spt = configs_of('spt')
    spt_voc = [p for p in spt if 'voc' in p]
    demo = configs_of('demo')
    demo_cls = [p for p in demo if _scope_is_cls(p)]
    demo_det = [p for p in demo if p not in demo_cls]
    return {
        'configs/pst_det/README.md': [
            'Detection, 640×640, eval, `mode=\'tensor\'` (no NMS), fine '
            'attention at the config\'s top-8:',
            ('table', configs_of('pst_det'), det640)],
        'configs/yolo_pst/README.md': [
            'The paper\'s models beside the paper\'s printed numbers and the '
            'authors\' released build (params within 1 % of that build is '
            'the fidelity bar; where the paper prints another count, the '
            'released code does not build it). The paper\'s FLOPs are '
            'Ultralytics\' count at 640×640, which leaves out every '
            'attention matmul:',
            ('paper', yolo_paper, det640),
            'Every config, 640×640, eval, `mode=\'tensor\'`, coarse-only PSTs '
            '(the configs\' default, as the released code evaluates); the '
            'attention column counts every scaled-dot-product attention, '
            'C2PSA\'s and A2C2f\'s included:',
            ('table', configs_of('yolo_pst'), det640)],
        'configs/pst_cls/README.md': [
            'The paper\'s models (Table 3) beside the paper\'s printed '
            'numbers and the authors\' released build; the paper\'s FLOPs '
            'are Ultralytics\' count at 640×640, so these are at 640×640:',
            ('paper', cls_paper, det640),
            'Every config at 224×224 (the training size):',
            ('table', configs_of('pst_cls'), (224, 224))],
        'configs/baselines/README.md': [
            'RetinaNet 1x with FPN, each attention-FPN baseline and PST-DET, '
            '640×640, eval, `mode=\'tensor\'`:',
            ('necks', baseline_rows(50), det640),
            ('necks', baseline_rows(101), det640)],
        'configs/spt/README.md': [
            'Backbone FLOPs (the two-stage detectors cannot be traced '
            'whole): detection configs at 800×1280 (H×W; the paper counts '
            'backbone FLOPs at 1280×800), VOC configs at 448×448; SPT counted '
            'with every token selected, the most it can cost (what trained '
            'gates select depends on the image: '
            '`get_flops.py CONFIG --checkpoint CKPT --image IMG`). The '
            'metafile lists no FLOPs for these configs:',
            ('spt', [p for p in spt if p not in spt_voc], (800, 1280)),
            ('spt', spt_voc, (448, 448))],
        'configs/demo/README.md': [
            'Detection demos at 128×128 (SPT with every token selected), '
            'classification demos at 96×96, the sizes they train at:',
            ('table', demo_det, (128, 128)),
            ('table', demo_cls, (96, 96))],
    }


def render_table(spec: tuple, stats: Stats) -> str:
    """The markdown of one ``(kind, paths, shape)`` table."""
    kind, paths, shape = spec
    if kind == 'paper':
        return paper_table(paths, shape, stats)
    if kind == 'table':
        return table('', shape, stats, paths=paths)
    if kind == 'necks':
        return neck_comparison(paths, shape, stats)
    if kind == 'spt':
        return spt_table(paths, shape, stats)
    raise ValueError(f'unknown table kind {kind!r}')


FOOTER = ('Generated by `python tools/analysis_tools/model_zoo_tables.py '
          '--write`; FLOPs = 2 × multiply-adds, attention included.')


def page_text(page: str, stats: Stats) -> str:
    """The generated block of ``page`` (without the markers)."""
    parts = [
        item if isinstance(item, str) else render_table(item, stats)
        for item in page_blocks()[page]
    ]
    return '\n\n'.join(parts + [FOOTER])


def metafile_shapes() -> Dict[str, Tuple[int, int]]:
    """Config path -> the input size its metafile FLOPs are counted at (the
    last table of its page that lists it with a folder table's shape)."""
    shapes = {}
    for items in page_blocks().values():
        for item in items:
            if not isinstance(item, str) and item[0] != 'paper':
                for path in item[1]:
                    if path.split('/')[1] in FOLDERS:
                        shapes.setdefault(path, item[2])
    return shapes


def training_data(name: str) -> str:
    """The data set a config name trains on (its last field)."""
    for key, data in (('bdd100k-s', 'BDD100K (BDD-S)'),
                      ('bdd100k', 'BDD100K'), ('voc12', 'PASCAL VOC 2012'),
                      ('in1k', 'ImageNet-1k'), ('heldout', 'held-out demo '
                                                'sets'),
                      ('pst-demo', 'pst-demo'), ('coco', 'COCO')):
        if key in name:
            return data
    raise ValueError(f'no data set in config name {name!r}')


def _yaml_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def metafile_text(folder: str, stats: Stats) -> str:
    """``configs/<folder>/metafile.yml`` in the OpenMMLab model-index
    format."""
    info = FOLDERS[folder]
    shapes = metafile_shapes()
    lines = [
        '# Generated by tools/analysis_tools/model_zoo_tables.py --write; do '
        'not edit.',
        '# FLOPs: 2 x multiply-adds, attention included, at the input size '
        f'of the table on configs/{folder}/README.md.',
        'Collections:', f'  - Name: {_yaml_str(info["name"])}',
        '    Metadata:',
        '      Architecture:'
    ]
    lines += [f'        - {a}' for a in info['architecture']]
    if info['paper'] is not None:
        lines += [
            '    Paper:', f'      Title: {_yaml_str(info["paper"]["Title"])}',
            f'      URL: {info["paper"]["URL"]}'
        ]
    lines += [f'    README: configs/{folder}/README.md', '', 'Models:']
    for path in configs_of(folder):
        name = osp.basename(path)
        s = stats(path, shapes[path])
        lines += [
            f'  - Name: {name[:-3]}',
            f'    In Collection: {_yaml_str(info["name"])}',
            f'    Config: {path}',
            # nothing released; the key itself is what mmengine's
            # inferencers read for every model they resolve by name
            '    Weights: null',
            '    Metadata:',
            f'      Training Data: {training_data(name)}',
            f'      Parameters: {s["params"]}'
        ]
        if s['flops'] is not None:  # None: two-stage, backbone only
            flops = UNKNOWN if math.isnan(s['flops']) else int(
                round(s['flops']))
            lines.append(f'      FLOPs: {flops}')
        results = MEASURED.get(name)
        if results:
            lines.append('    Results:')
            for task, dataset, metrics, _ in results:
                lines += [
                    f'      - Task: {task}', f'        Dataset: {dataset}',
                    '        Metrics:'
                ]
                lines += [f'          {k}: {v}' for k, v in metrics.items()]
    return '\n'.join(lines) + '\n'


def model_index_text() -> str:
    """The root ``model-index.yml``: imports every folder's metafile."""
    return '\n'.join(['Import:'] + [
        f'  - configs/{folder}/metafile.yml' for folder in FOLDERS
    ]) + '\n'


def overview_text(stats: Stats) -> str:
    """README.md's block: one row per method page."""
    shapes = metafile_shapes()
    rows = [
        '| method | page | paper | configs | params (M) |',
        '|---|---|---|---|---|'
    ]
    for folder, info in FOLDERS.items():
        paths = configs_of(folder)
        params = [stats(p, shapes[p])['params'] / 1e6 for p in paths]
        paper = info['paper']
        paper_s = '-' if paper is None else \
            f'[arXiv {paper["URL"].rsplit("/", 1)[1]}]({paper["URL"]})'
        rows.append(
            f'| {info["method"]} | [configs/{folder}]'
            f'(configs/{folder}/README.md) | {paper_s} | {len(paths)} | '
            f'{min(params):.2f}–{max(params):.2f} |')
    return '\n'.join(rows + [
        '', 'Generated by `python tools/analysis_tools/model_zoo_tables.py '
        '--write`, which also writes the tables of each page and the '
        'metafiles.'
    ])


def generated_files(stats: Stats) -> Dict[str, Tuple[str, bool]]:
    """Every generated text: path -> (text, whether it is a marked block
    of a page rather than a whole file)."""
    out = {'README.md': (overview_text(stats), True)}
    for page in page_blocks():
        out[page] = (page_text(page, stats), True)
    for folder in FOLDERS:
        out[f'configs/{folder}/metafile.yml'] = (metafile_text(folder, stats),
                                                 False)
    out['model-index.yml'] = (model_index_text(), False)
    return out


def read_block(path: str) -> str:
    """The text between the markers of ``path``; ``ValueError`` unless it
    has exactly one block."""
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        content = f.read()
    if content.count(BEGIN) != 1 or content.count(END) != 1:
        raise ValueError(f'{path} needs exactly one {BEGIN} ... {END} block')
    return content.split(BEGIN)[1].split(END)[0].strip('\n')


def write_block(path: str, text: str) -> None:
    """Replace the block of ``path`` with ``text``."""
    read_block(path)  # checks the markers
    full = osp.join(REPO, path)
    with open(full, encoding='utf-8') as f:
        content = f.read()
    head, rest = content.split(BEGIN)
    _, tail = rest.split(END)
    with open(full, 'w', encoding='utf-8') as f:
        f.write(f'{head}{BEGIN}\n{text}\n{END}{tail}')


def lines_match(expected: str, actual: str) -> bool:
    """Whether ``actual`` equals ``expected``, where each ``UNKNOWN`` cell
    of ``expected`` matches any cell text."""
    if UNKNOWN not in expected:
        return expected == actual
    pattern = re.escape(expected).replace(re.escape(UNKNOWN), r'[^|]*?')
    return re.fullmatch(pattern, actual) is not None


def differences(stats: Stats) -> List[str]:
    """A unified-diff-like report of every generated text that differs
    from the repository's; empty when all match."""
    report = []
    for path, (text, is_block) in generated_files(stats).items():
        try:
            if is_block:
                actual = read_block(path)
            else:
                with open(osp.join(REPO, path), encoding='utf-8') as f:
                    actual = f.read()
        except (OSError, ValueError) as e:
            report.append(f'{path}: {e}')
            continue
        exp_lines, act_lines = text.splitlines(), actual.splitlines()
        if len(exp_lines) == len(act_lines) and all(
                lines_match(e, a) for e, a in zip(exp_lines, act_lines)):
            continue
        report.append(f'{path} differs from the generator:')
        report += list(
            difflib.unified_diff(
                act_lines, exp_lines, 'in the repository', 'generated',
                lineterm='', n=0))
    return report


def quick_selection() -> set:
    """Configs whose FLOPs ``--quick`` counts: the first row and the first
    PST or SPT row of every table."""
    chosen = set()
    for items in page_blocks().values():
        for item in items:
            if isinstance(item, str):
                continue
            paths = item[1]
            chosen.add(paths[0])
            chosen.update(
                [p for p in paths
                 if re.search(r'pst-[nsm][_-]|spt-', osp.basename(p))]
                [:1])
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--write', action='store_true',
                      help='update the pages\' blocks and the metafiles')
    mode.add_argument('--check', action='store_true',
                      help='exit 1 if any generated text differs')
    parser.add_argument('--quick', action='store_true',
                        help='with --check: FLOPs of a few configs only')
    args = parser.parse_args()
    if args.quick and not args.check:
        parser.error('--quick only goes with --check')
    if args.quick:
        chosen = quick_selection()
        stats = CachedStats(exact=lambda p: p in chosen)
    else:
        stats = CachedStats()
    if args.check:
        report = differences(stats)
        print('\n'.join(report) if report else 'all generated texts match')
        sys.exit(1 if report else 0)
    files = generated_files(stats)
    if not args.write:
        for path, (text, _) in files.items():
            print(f'==> {path}\n{text}')
        return
    for path, (text, is_block) in files.items():
        if is_block:
            write_block(path, text)
        else:
            with open(osp.join(REPO, path), 'w', encoding='utf-8') as f:
                f.write(text)
        print(f'updated {path}')


if __name__ == '__main__':
    main()
