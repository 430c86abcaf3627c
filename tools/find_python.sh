# Sourced by the launchers (dist_*.sh, slurm_*.sh): sets PYTHON to an
# interpreter that has pst-mm's dependencies, so they also work in a new
# shell where the environment tools/install.sh made is not active. Order:
#   1. $PYTHON, if set;
#   2. `python` on PATH, if it imports torch (an active venv or conda env);
#   3. the environment of tools/install.sh ($PST_MM_VENV, default
#      ~/.venvs/pst-mm).
if [ -z "${PYTHON:-}" ]; then
  _venv_python="${PST_MM_VENV:-$HOME/.venvs/pst-mm}/bin/python"
  if command -v python >/dev/null 2>&1 && \
      python -c 'import torch' >/dev/null 2>&1; then
    PYTHON=python
  elif [ -x "$_venv_python" ]; then
    PYTHON=$_venv_python
  else
    echo "no Python with torch found: activate your environment, set" \
      "PYTHON=/path/to/python, or run bash tools/install.sh" >&2
    exit 1
  fi
  unset _venv_python
fi
# mmengine imports setuptools' deprecated pkg_resources, which warns in every
# process: known and harmless (requirements pin setuptools < 81).
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:pkg_resources is deprecated:UserWarning"
