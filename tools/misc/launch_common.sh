# Sourced by the launchers (tools/dist_*.sh, tools/slurm_*.sh): finds the
# project's Python (tools/find_python.sh) and runs a tool under torchrun or
# srun, so the four launchers only name their arguments.
# shellcheck shell=bash
TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/find_python.sh
source "$TOOLS_DIR/find_python.sh"

# need_args N USAGE ARGS...: exit 2 with "usage: <launcher> USAGE" when
# fewer than N arguments were given.
need_args() {
  local count=$1 usage=$2
  shift 2
  if [ $# -lt "$count" ]; then
    echo "usage: $0 $usage" >&2
    exit 2
  fi
}

# dist_launch NPROC_PER_NODE TOOL ARGS...: tools/TOOL on this node under
# torchrun (gloo on machines without CUDA). Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR and PORT from the environment.
dist_launch() {
  local nproc=$1 tool=$2
  shift 2
  exec "$PYTHON" -m torch.distributed.run \
      --nnodes="${NNODES:-1}" \
      --node_rank="${NODE_RANK:-0}" \
      --master_addr="${MASTER_ADDR:-127.0.0.1}" \
      --nproc_per_node="$nproc" \
      --master_port="${PORT:-29500}" \
      "$TOOLS_DIR/$tool" "$@"
}

# slurm_launch PARTITION JOB_NAME TOOL ARGS...: tools/TOOL as one Slurm task
# per GPU. Environment: GPUS (total, default 8), GPUS_PER_NODE (default
# min(GPUS, 8)), CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun options).
slurm_launch() {
  local partition=$1 job_name=$2 tool=$3
  shift 3
  local gpus=${GPUS:-8}
  local gpus_per_node=${GPUS_PER_NODE:-$(( gpus < 8 ? gpus : 8 ))}
  # SRUN_ARGS holds several options: split on purpose
  # shellcheck disable=SC2086
  srun -p "$partition" \
      --job-name="$job_name" \
      --gres=gpu:"$gpus_per_node" \
      --ntasks="$gpus" \
      --ntasks-per-node="$gpus_per_node" \
      --cpus-per-task="${CPUS_PER_TASK:-5}" \
      --kill-on-bad-exit=1 \
      ${SRUN_ARGS:-} \
      "$PYTHON" -u "$TOOLS_DIR/$tool" "$@"
}
