#!/usr/bin/env bash
# Install everything (idempotent, see tools/install.sh) and run the test suite.
#   bash tools/run_tests.sh [extra pytest args]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/tools/install.sh"
VENV=${PST_MM_VENV:-$HOME/.venvs/pst-mm}
cd "$REPO"
exec "$VENV/bin/python" -m pytest tests -p no:cacheprovider "$@"
