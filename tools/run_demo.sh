#!/usr/bin/env bash
# The main job: install everything (idempotent), build the demo detection set
# from real photographs, measure an untrained R-18-PST-N RetinaNet, train it
# for a few minutes on the CPU, and evaluate it (bbox mAP, fine attention on).
#
#   bash tools/run_demo.sh
#
# A second run reuses the installed environment, the data and the finished
# training (resumed from the last checkpoint, nothing retrained).
# Environment: PST_MM_VENV (venv), PST_DEMO_WORK (default work_dirs/pst_demo),
# PST_DEMO_DET_ROOT (default data/pst_demo_det/).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/tools/install.sh"
PY=${PST_MM_VENV:-$HOME/.venvs/pst-mm}/bin/python
cd "$REPO"
WORK=${PST_DEMO_WORK:-work_dirs/pst_demo}
export PST_DEMO_DET_ROOT=${PST_DEMO_DET_ROOT:-data/pst_demo_det/}
CFG=configs/demo/retinanet_r18_pst-n_1xb8-24e_pst-demo.py
metric() { grep '^\[pst-mm\] test metrics:' | tail -1 | sed 's/^\[pst-mm\] test metrics: //'; }

if [ ! -f "$PST_DEMO_DET_ROOT/annotations/instances_val.json" ]; then
  "$PY" tools/misc/make_demo_data.py det "$PST_DEMO_DET_ROOT"
fi
if [ ! -f "$WORK/untrained.pth" ]; then
  "$PY" tools/misc/init_checkpoint.py "$CFG" "$WORK/untrained.pth"
fi
start=$(date +%s)
untrained=$("$PY" tools/test.py "$CFG" "$WORK/untrained.pth" \
  --work-dir "$WORK/untrained" | metric)
"$PY" tools/train.py "$CFG" --work-dir "$WORK" --resume
trained=$("$PY" tools/test.py "$CFG" "$WORK/epoch_24.pth" --work-dir "$WORK" \
  | metric)
coarse=$("$PY" tools/test.py "$CFG" "$WORK/epoch_24.pth" --work-dir "$WORK" \
  --cfg-options model.neck.topk=0 | metric)
"$PY" - "$untrained" "$trained" "$coarse" "$(( $(date +%s) - start ))" <<'PYEOF'
import json, sys
untrained, trained, coarse = (json.loads(a) for a in sys.argv[1:4])
key = 'coco/bbox_mAP'
print('\n=== pst-mm demo: RetinaNet R-18 + PST-DET-N on the pst-demo set ===')
print(f'untrained           bbox mAP {untrained[key]:.3f}')
print(f'trained, coarse     bbox mAP {coarse[key]:.3f}  (topk=0)')
print(f'trained, top-8 fine bbox mAP {trained[key]:.3f}  '
      f'(mAP@50 {trained["coco/bbox_mAP_50"]:.3f})')
print(f'({sys.argv[4]} s for evaluation and training)')
PYEOF
