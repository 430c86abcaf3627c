#!/usr/bin/env bash
# Distributed training with torchrun, one process per GPU (or per CPU worker
# on machines without CUDA, where the gloo backend is used automatically).
#   bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 CONFIG NPROC_PER_NODE [tools/train.py args...]" >&2
  exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/find_python.sh
source "$DIR/find_python.sh"

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "$@"
