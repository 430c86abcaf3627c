#!/usr/bin/env bash
# Distributed testing with torchrun (gloo on machines without CUDA).
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
set -euo pipefail
# shellcheck source=tools/misc/launch_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/misc/launch_common.sh"
need_args 3 "CONFIG CHECKPOINT NPROC_PER_NODE [tools/test.py args...]" "$@"
dist_launch "$3" test.py "$1" "$2" --launcher pytorch "${@:4}"
