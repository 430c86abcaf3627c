#!/usr/bin/env bash
# The main job: install everything (idempotent), build a demo set from real
# photographs, measure the untrained model, train it for a few minutes on
# the CPU, and evaluate it.
#
#   bash tools/run_demo.sh          # detection: RetinaNet R-18 + PST-DET-N, bbox mAP
#   bash tools/run_demo.sh cls      # classification: ResNet-18 + PST-CLS, top-1
#   bash tools/run_demo.sh spt      # tiny SPT vs Swin RetinaNet: mAP, select ratios, FLOPs
#   bash tools/run_demo.sh yolo     # YOLOv11-PST-N (paper Table 2 model), bbox mAP
#
# A second run reuses the installed environment, the data and the finished
# training (resumed from its last checkpoint, nothing retrained).
# Environment: PST_MM_VENV (venv), PST_DEMO_WORK (default work_dirs/pst_demo,
# work_dirs/pst_demo_cls or work_dirs/pst_demo_yolo), PST_DEMO_DET_ROOT /
# PST_DEMO_CLS_ROOT (default data/pst_demo_det/, data/pst_demo_cls/).
set -euo pipefail
TASK=${1:-det}
case $TASK in
  det)
    CFG=configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py
    LAST=epoch_24.pth
    export PST_DEMO_DET_ROOT=${PST_DEMO_DET_ROOT:-data/pst_demo_det/}
    DATA=$PST_DEMO_DET_ROOT
    READY=$DATA/annotations/instances_val.json
    WORK=${PST_DEMO_WORK:-work_dirs/pst_demo}
    # An untrained detector scores every box below mmdet's 0.05: keep them
    # all, the most favourable setting for the untrained baseline.
    UNTRAINED_OPTS=(--cfg-options model.test_cfg.score_thr=0.0)
    ;;
  yolo)
    # YOLOv11-PST-N (paper Table 2 model, 4 classes) on the detection set
    CFG=configs/demo/yolo11-pst-n_1xb8-30e_pst-demo.py
    LAST=epoch_30.pth
    export PST_DEMO_DET_ROOT=${PST_DEMO_DET_ROOT:-data/pst_demo_det/}
    DATA=$PST_DEMO_DET_ROOT
    READY=$DATA/annotations/instances_val.json
    WORK=${PST_DEMO_WORK:-work_dirs/pst_demo_yolo}
    DATA_TASK=det
    UNTRAINED_OPTS=(--cfg-options model.test_cfg.score_thr=0.0)
    ;;
  cls)
    CFG=configs/demo/resnet18_pst-n_1xb16-30e_pst-demo.py
    LAST=epoch_30.pth
    export PST_DEMO_CLS_ROOT=${PST_DEMO_CLS_ROOT:-data/pst_demo_cls/}
    DATA=$PST_DEMO_CLS_ROOT
    READY=$DATA/classes.txt
    WORK=${PST_DEMO_WORK:-work_dirs/pst_demo_cls}
    UNTRAINED_OPTS=()
    ;;
  spt)
    # SPT vs Swin (select ratios, FLOPs, throughput): its own script
    exec bash "$(dirname "${BASH_SOURCE[0]}")/misc/run_spt_demo.sh"
    ;;
  *)
    echo "usage: $0 [det|cls|spt|yolo]" >&2
    exit 2
    ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/tools/install.sh"
PY=${PST_MM_VENV:-$HOME/.venvs/pst-mm}/bin/python
# mmengine imports setuptools' deprecated pkg_resources, which warns in every
# process: known and harmless (requirements pin setuptools < 81).
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:pkg_resources is deprecated:UserWarning"
cd "$REPO"
metric() { grep '^\[pst-mm\] test metrics:' | tail -1 | sed 's/^\[pst-mm\] test metrics: //'; }

if [ ! -f "$READY" ]; then
  "$PY" tools/misc/make_demo_data.py "${DATA_TASK:-$TASK}" "$DATA"
fi
if [ ! -f "$WORK/untrained.pth" ]; then
  "$PY" tools/misc/init_checkpoint.py "$CFG" "$WORK/untrained.pth"
fi
start=$(date +%s)
untrained=$("$PY" tools/test.py "$CFG" "$WORK/untrained.pth" \
  --work-dir "$WORK/untrained" "${UNTRAINED_OPTS[@]}" | metric)
"$PY" tools/train.py "$CFG" --work-dir "$WORK" --resume
trained=$("$PY" tools/test.py "$CFG" "$WORK/$LAST" --work-dir "$WORK" | metric)
coarse=$("$PY" tools/test.py "$CFG" "$WORK/$LAST" --work-dir "$WORK" \
  --cfg-options model.neck.pst_cfg.topk=0 | metric)
"$PY" - "$TASK" "$untrained" "$trained" "$coarse" \
  "$(( $(date +%s) - start ))" <<'PYEOF'
import json
import sys

task = sys.argv[1]
untrained, trained, coarse = (json.loads(a) for a in sys.argv[2:5])
if task in ('det', 'yolo'):
    key, name = 'coco/bbox_mAP', 'bbox mAP'
    title = ('YOLOv11-PST-N' if task == 'yolo' else
             'RetinaNet R-18 + PST-DET-N') + ' on the pst-demo detection set'
    extra = f'  (mAP@50 {trained["coco/bbox_mAP_50"]:.3f})'
    fmt = '{:.3f}'
else:
    key, name = 'accuracy/top1', 'top-1 %'
    title = 'ResNet-18 + PST-CLS on the pst-demo classification set (6 classes)'
    extra = '  (chance 16.7)'
    fmt = '{:.1f}'
print(f'\n=== pst-mm demo: {title} ===')
print(f'untrained             {name} {fmt.format(untrained[key])}')
print(f'trained, coarse only  {name} {fmt.format(coarse[key])}  (topk=0)')
print(f'trained, top-8 fine   {name} {fmt.format(trained[key])}{extra}')
print(f'({sys.argv[5]} s of evaluation and training)')
PYEOF
