#!/usr/bin/env bash
# The SPT demo (`bash tools/run_demo.sh spt`): on the pst-demo detection set,
# train (12 epochs each) a tiny SPT RetinaNet with the selection loss (the
# paper's weight 0.01) and without it (weight 0), and the same-size Swin
# RetinaNet; print bbox mAP, SPA select ratios (last training epoch, with
# noise; and eval, no noise) beside the box-cell ratio they are supervised
# towards, backbone FLOPs at the selection of a val image beside the Swin's,
# and CPU backbone throughput of both in one interleaved run. 384 iterations
# do not push the gate logits of background tokens below the paper's
# threshold (sigmoid 0.01, logit -4.6), so the SPT with the loss is also
# evaluated, counted and timed at select_thr 0.5 (ours, demo only).
# A second run resumes the finished trainings. Environment: PST_MM_VENV,
# PST_DEMO_WORK (default work_dirs/spt_demo), PST_DEMO_DET_ROOT.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$REPO/tools/install.sh"
PY=${PST_MM_VENV:-$HOME/.venvs/pst-mm}/bin/python
# mmengine imports setuptools' deprecated pkg_resources (known, harmless)
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:pkg_resources is deprecated:UserWarning"
cd "$REPO"
export PST_DEMO_DET_ROOT=${PST_DEMO_DET_ROOT:-data/pst_demo_det/}
DATA=$PST_DEMO_DET_ROOT
WORK=${PST_DEMO_WORK:-work_dirs/spt_demo}
SPT=configs/demo/retinanet_spt-tiny_fpn_1xb8-12e_pst-demo.py
SWIN=configs/demo/retinanet_swin-tiny_fpn_1xb8-12e_pst-demo.py
THR05=(--cfg-options model.backbone.select_thr=0.5)
metric() { grep '^\[pst-mm\] test metrics:' | tail -1 | sed 's/^\[pst-mm\] test metrics: //'; }
if [ ! -f "$DATA/annotations/instances_val.json" ]; then
  "$PY" tools/misc/make_demo_data.py det "$DATA"
fi
IMG=$(ls "$DATA"/val/* | head -1)
start=$(date +%s)
declare -A METRICS
for run in spt:$SPT:0.01 spt_noloss:$SPT:0.0 swin:$SWIN:-; do
  IFS=: read -r name cfg weight <<< "$run"
  opts=()
  [ "$weight" != - ] && opts=(--cfg-options model.select_loss_weight=$weight)
  "$PY" tools/train.py "$cfg" --work-dir "$WORK/$name" --resume "${opts[@]}"
  METRICS[$name]=$("$PY" tools/test.py "$cfg" "$WORK/$name/epoch_12.pth" \
    --work-dir "$WORK/$name" | metric)
done
METRICS[spt_thr05]=$("$PY" tools/test.py "$SPT" "$WORK/spt/epoch_12.pth" \
  --work-dir "$WORK/spt" "${THR05[@]}" | metric)
for thr in 0.01 0.5; do
  "$PY" tools/analysis_tools/get_flops.py "$SPT" --shape 128 128 \
    --checkpoint "$WORK/spt/epoch_12.pth" --image "$IMG" \
    --json "$WORK/flops_spt_thr$thr.json" \
    --cfg-options model.backbone.select_thr=$thr
done
# one interleaved run: SPT (trained gates, the paper's threshold) vs Swin
"$PY" tools/analysis_tools/benchmark.py "$SPT" --compare "$SWIN" \
  --part backbone --shape 128 128 --batch 8 --image "$IMG" \
  --checkpoint "$WORK/spt/epoch_12.pth" "$WORK/swin/epoch_12.pth"
# the same SPT backbone at select_thr 0.5 (benchmark.py applies
# --cfg-options to both configs, so this one runs alone)
"$PY" tools/analysis_tools/benchmark.py "$SPT" --part backbone \
  --shape 128 128 --batch 8 --image "$IMG" \
  --checkpoint "$WORK/spt/epoch_12.pth" "${THR05[@]}"
"$PY" - "$WORK" "$(( $(date +%s) - start ))" "$DATA" "${METRICS[spt]}" \
  "${METRICS[spt_thr05]}" "${METRICS[spt_noloss]}" "${METRICS[swin]}" <<'PYEOF'
import glob
import json
import os.path as osp
import sys

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from pst_mm.models.detectors import build_select_targets

work, secs, data = sys.argv[1:4]
names = ['spt', 'spt_thr05', 'spt_noloss', 'swin']
metrics = dict(zip(names, (json.loads(a) for a in sys.argv[4:8])))


def train_ratios(name):
    """Mean select ratios over the last training epoch (with noise)."""
    logs = sorted(glob.glob(osp.join(work, name, '*', 'vis_data',
                                     'scalars.json')))
    rows = [json.loads(line) for path in logs for line in open(path)]
    rows = [r for r in rows if 'select_ratio_s3' in r and r.get('epoch')]
    last = [r for r in rows if r['epoch'] == rows[-1]['epoch']] if rows \
        else []
    return {k: sum(r[k] for r in last) / len(last)
            for k in ('select_ratio_s3', 'select_ratio_s4')} if last else {}


def box_cell_ratios():
    """Share of the val images' stage-3/4 cells that overlap a box: what
    loss_select supervises the selection towards."""
    coco = json.load(open(osp.join(data, 'annotations',
                                   'instances_val.json')))
    boxes = {}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        boxes.setdefault(a['image_id'], []).append([x, y, x + w, y + h])
    out = {'select_ratio_s3': [], 'select_ratio_s4': []}
    for im in coco['images']:
        ds = DetDataSample()
        ds.gt_instances = InstanceData(bboxes=torch.tensor(
            boxes.get(im['id'], []), dtype=torch.float32).reshape(-1, 4))
        h, w = im['height'], im['width']
        t16, t32 = build_select_targets(
            [ds], [(-(-h // 16), -(-w // 16)), (-(-h // 32), -(-w // 32))],
            [16, 32])
        out['select_ratio_s3'].append(float(t16.mean()))
        out['select_ratio_s4'].append(float(t32.mean()))
    return {k: sum(v) / len(v) for k, v in out.items()}


def fmt(r):
    return ' / '.join(f'{v:.1%}' for v in r.values()) if r else '-'


print('\n=== pst-mm demo: tiny SPT vs tiny Swin RetinaNet on the pst-demo '
      'detection set (12 epochs) ===')
print(f"{'model':<38}{'bbox mAP':>9}{'mAP@50':>8}   select s3 / s4: "
      'train (noise)    eval')
rows = [('spt', 'SPT, L_select weight 0.01', 'spt'),
        ('spt_thr05', '  same, evaluated at select_thr 0.5', None),
        ('spt_noloss', 'SPT, no L_select', 'spt_noloss'),
        ('swin', 'Swin (dense)', None)]
for name, title, train in rows:
    m = metrics[name]
    ev = {k: v for k, v in m.items() if k.startswith('select/')}
    tr = fmt(train_ratios(train)) if train else '-'
    print(f"{title:<38}{m['coco/bbox_mAP']:>9.3f}"
          f"{m['coco/bbox_mAP_50']:>8.3f}   {tr:>28}    {fmt(ev)}")
print('box-cell ratio of the val images (the selection labels), s3 / s4: '
      f'{fmt(box_cell_ratios())}')
for thr in ('0.01', '0.5'):
    f = json.load(open(osp.join(work, f'flops_spt_thr{thr}.json')))
    spt, swin = f['backbone_flops'], f['dense_backbone_flops']
    print(f'backbone GFLOPs at 128x128, one val image, select_thr {thr} '
          f'(data-dependent): SPT {spt / 1e9:.3f} vs Swin {swin / 1e9:.3f} '
          f'({spt / swin - 1:+.1%}; selected s3 / s4 '
          f"{fmt(f['select_ratios'])})")
print('CPU backbone throughput: the benchmark tables above')
print(f'({secs} s of training, evaluation and measurement)')
PYEOF
