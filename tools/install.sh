#!/usr/bin/env bash
# Install everything pst-mm needs into one virtual environment, idempotently.
#
#   bash tools/install.sh          # creates/updates $PST_MM_VENV
#
# The environment lives outside the checkout (default ~/.venvs/pst-mm) so that
# fresh clones, CI included, reuse it; a second run only re-checks versions and
# re-links the editable install. Every step is skipped when what it installs
# already imports with the right version.
#
# Why each step looks the way it does (measured; see README notes):
#  * `pip --isolated` ignores this kind of machine's pip config, whose local
#    CPU-only torch wheel cannot load any torchvision; the registry's standard
#    torch 2.13.0 / torchvision 0.28.0 builds run on CPU-only machines too.
#  * mmcv 2.1.0 (mmdet 3.3 refuses >=2.2) has no wheel for this torch, so it is
#    built from source with its compiled ops. `-g0 -O2` instead of the default
#    `-g -O3` makes the build ~3.5x faster (~18 min on 2 cores); pip caches the
#    wheel, so only the first install on a machine pays for it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${PST_MM_VENV:-$HOME/.venvs/pst-mm}
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --isolated --disable-pip-version-check -q)
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  PIP+=(--cert /etc/ssl/certs/ca-certificates.crt)
fi

log() { printf '[pst-mm install] %s\n' "$*"; }
has() { "$PY" - "$@" >/dev/null 2>&1; }

if [ ! -x "$PY" ]; then
  log "creating virtual environment $VENV"
  python3 -m venv "$VENV"
fi

if ! has <<'EOF'
import torch, torchvision
assert torch.__version__.split('+')[0] == '2.13.0', torch.__version__
assert torchvision.__version__.split('+')[0] == '0.28.0', torchvision.__version__
import torchvision.ops  # fails when torch and torchvision builds do not match
EOF
then
  log "installing torch 2.13.0 + torchvision 0.28.0 (~2 min, ~4.8 GB)"
  "${PIP[@]}" torch==2.13.0 torchvision==0.28.0
fi

log "build requirements"
"${PIP[@]}" -r "$REPO/requirements/build.txt"

if ! has <<'EOF'
import mmcv
from mmcv.ops import nms  # noqa: F401  (needs the compiled mmcv._ext)
assert mmcv.__version__.startswith('2.1.'), mmcv.__version__
EOF
then
  log "building mmcv 2.1.0 with ops from source (first time on a machine: ~6 min on 2 cores)"
  start=$(date +%s)
  CFLAGS="-g0 -O2" CXXFLAGS="-g0 -O2" MMCV_WITH_OPS=1 FORCE_CUDA=0 \
    MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    "${PIP[@]}" --no-build-isolation mmcv==2.1.0
  log "mmcv ready after $(( $(date +%s) - start )) s"
fi

log "OpenMMLab packages, runtime and test requirements"
"${PIP[@]}" -r "$REPO/requirements/runtime.txt" \
  -r "$REPO/requirements/mminstall.txt" -r "$REPO/requirements/tests.txt" \
  -r "$REPO/requirements/optional.txt"

log "reference implementation for the parity tests (ultralytics, --no-deps)"
"${PIP[@]}" --no-deps -r "$REPO/requirements/reference.txt"

log "pst_mm (editable)"
"${PIP[@]}" --no-deps --no-build-isolation -e "$REPO"

"$PY" - <<'EOF'
import mmcv, mmdet, mmengine, mmpretrain, torch, pst_mm
from mmcv.ops import nms  # noqa: F401
print(f'[pst-mm install] ready: torch {torch.__version__}, mmengine '
      f'{mmengine.__version__}, mmcv {mmcv.__version__} (ops), mmdet '
      f'{mmdet.__version__}, mmpretrain {mmpretrain.__version__}, pst_mm '
      f'{pst_mm.__version__}')
EOF
