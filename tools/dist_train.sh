#!/usr/bin/env bash
# Distributed training with torchrun, one process per GPU (or per CPU worker
# on machines without CUDA, where the gloo backend is used automatically).
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
set -euo pipefail
# shellcheck source=tools/misc/launch_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/misc/launch_common.sh"
need_args 2 "CONFIG NPROC_PER_NODE [tools/train.py args...]" "$@"
dist_launch "$2" train.py "$1" --launcher pytorch "${@:3}"
