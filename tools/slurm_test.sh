#!/usr/bin/env bash
# Testing on a Slurm cluster, one task per GPU.
#   GPUS=8 bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# Environment: GPUS (total, default 8), GPUS_PER_NODE (default 8),
# CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun options).
set -euo pipefail
# shellcheck source=tools/misc/launch_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/misc/launch_common.sh"
need_args 4 "PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py args...]" \
    "$@"
slurm_launch "$1" "$2" test.py "$3" "$4" --launcher=slurm "${@:5}"
