#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU.
#   GPUS=16 bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (default 8),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun options).
set -euo pipefail
# shellcheck source=tools/misc/launch_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/misc/launch_common.sh"
need_args 4 "PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py args...]" "$@"
slurm_launch "$1" "$2" train.py "$3" --work-dir="$4" --launcher=slurm \
    "${@:5}"
