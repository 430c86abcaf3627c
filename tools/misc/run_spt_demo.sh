#!/usr/bin/env bash
# The SPT demo (`bash tools/run_demo.sh spt`): on the pst-demo detection set,
# train a tiny SPT RetinaNet with the selection loss (the paper's weight
# 0.01, and 1.0), without it (weight 0), and the same-size Swin RetinaNet;
# print bbox mAP, SPA select ratios (last training epoch, with noise; and
# eval, no noise), backbone FLOPs at the selection of a val image beside
# the Swin's, and CPU backbone throughput of both in one interleaved run.
# A second run resumes the finished trainings. Environment: PST_MM_VENV,
# PST_DEMO_WORK (default work_dirs/spt_demo), PST_DEMO_DET_ROOT.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$REPO/tools/install.sh"
PY=${PST_MM_VENV:-$HOME/.venvs/pst-mm}/bin/python
cd "$REPO"
export PST_DEMO_DET_ROOT=${PST_DEMO_DET_ROOT:-data/pst_demo_det/}
DATA=$PST_DEMO_DET_ROOT
WORK=${PST_DEMO_WORK:-work_dirs/spt_demo}
SPT=configs/demo/retinanet_spt-tiny_fpn_1xb8-24e_pst-demo.py
SWIN=configs/demo/retinanet_swin-tiny_fpn_1xb8-24e_pst-demo.py
metric() { grep '^\[pst-mm\] test metrics:' | tail -1 | sed 's/^\[pst-mm\] test metrics: //'; }
if [ ! -f "$DATA/annotations/instances_val.json" ]; then
  "$PY" tools/misc/make_demo_data.py det "$DATA"
fi
IMG=$(ls "$DATA"/val/* | head -1)
start=$(date +%s)
declare -A METRICS
for run in spt:$SPT:0.01 spt_w1:$SPT:1.0 spt_noloss:$SPT:0.0 swin:$SWIN:-; do
  IFS=: read -r name cfg weight <<< "$run"
  opts=()
  [ "$weight" != - ] && opts=(--cfg-options model.select_loss_weight=$weight)
  "$PY" tools/train.py "$cfg" --work-dir "$WORK/$name" --resume "${opts[@]}"
  METRICS[$name]=$("$PY" tools/test.py "$cfg" "$WORK/$name/epoch_24.pth" \
    --work-dir "$WORK/$name" | metric)
done
"$PY" tools/analysis_tools/get_flops.py "$SPT" --shape 128 128 \
  --checkpoint "$WORK/spt/epoch_24.pth" --image "$IMG" --json "$WORK/flops_spt.json"
"$PY" tools/analysis_tools/get_flops.py "$SPT" --shape 128 128 \
  --checkpoint "$WORK/spt_w1/epoch_24.pth" --image "$IMG" --json "$WORK/flops_spt_w1.json"
"$PY" tools/analysis_tools/benchmark.py "$SPT" --compare "$SWIN" \
  --part backbone --shape 128 128 --batch 8 --image "$IMG" \
  --checkpoint "$WORK/spt/epoch_24.pth" "$WORK/swin/epoch_24.pth"
"$PY" - "$WORK" "$(( $(date +%s) - start ))" "${METRICS[spt]}" \
  "${METRICS[spt_w1]}" "${METRICS[spt_noloss]}" "${METRICS[swin]}" <<'PYEOF'
import glob
import json
import os.path as osp
import sys

work, secs = sys.argv[1:3]
names = ['spt', 'spt_w1', 'spt_noloss', 'swin']
metrics = dict(zip(names, (json.loads(a) for a in sys.argv[3:7])))


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


def fmt(r):
    return ' / '.join(f'{v:.1%}' for v in r.values()) if r else '-'


print('\n=== pst-mm demo: tiny SPT vs tiny Swin RetinaNet on the pst-demo '
      'detection set ===')
print(f"{'model':<28}{'bbox mAP':>9}{'mAP@50':>8}  select s3 / s4 "
      'train (noise)   eval')
rows = [('spt', 'SPT, L_select weight 0.01'),
        ('spt_w1', 'SPT, L_select weight 1.0'),
        ('spt_noloss', 'SPT, no L_select'), ('swin', 'Swin (dense)')]
for name, title in rows:
    m = metrics[name]
    ev = {k: v for k, v in m.items() if k.startswith('select/')}
    print(f"{title:<28}{m['coco/bbox_mAP']:>9.3f}"
          f"{m['coco/bbox_mAP_50']:>8.3f}  {fmt(train_ratios(name)):>20}"
          f'   {fmt(ev)}')
for name in ('spt', 'spt_w1'):
    f = json.load(open(osp.join(work, f'flops_{name}.json')))
    print(f"backbone GFLOPs at 128x128 ({name}, one val image, "
          f"data-dependent): SPT {f['backbone_flops'] / 1e9:.3f} vs Swin "
          f"{f['dense_backbone_flops'] / 1e9:.3f} "
          f"(selected s3/s4 {fmt(f['select_ratios'])})")
print(f'({secs} s of training, evaluation and measurement)')
PYEOF
