#!/usr/bin/env bash
# The GPU path, checked in one go (under 8 minutes on one GPU): the CUDA-marked tests, a `tiny`
# run on the GPU, property labels and fits on the GPU (2 label workers), the GPU speed workloads
# (predict ResNet-50, the training step) saved as JSON, and a one-process DDP run over NCCL; then
# a summary. Without CUDA it says so and exits 0 after
# checking what it can here: its own syntax and that the CUDA code paths import.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]      # OUT_DIR (default: a temporary folder) keeps the logs and JSON
#
# Run from the repository root with the project installed (pip install -e '.[test]').
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
export GHNBENCH_HOME="$OUT/home" PYTHONUNBUFFERED=1
summary=()
step() {  # step NAME TIMEOUT_S COMMAND...: run, log to $OUT/NAME.log, record pass/fail and seconds
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    summary+=("$(printf '%-12s %-6s %4d s  %s' "$name" "$([ $rc -eq 0 ] && echo ok || echo FAIL:$rc)" $((SECONDS - start)) "$OUT/$name.log")")
    tail -n 3 "$OUT/$name.log"
}

bash -n "$0" || { echo "gpu_check: syntax error in $0"; exit 1; }
$PY - <<'EOF' || { echo "gpu_check: the CUDA code paths do not import"; exit 1; }
import torch
import bench.harness.ddp, bench.commands.profile_cmd, bench.harness.train  # noqa: F401  (the modules the CUDA paths live in)
from bench.harness.train import amp_supported, mixed_precision
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, GPUs: {torch.cuda.device_count()}")
EOF
if ! $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA GPU on this machine: checked the script's syntax and that the CUDA paths import; nothing ran"
    exit 0
fi
$PY -c "import torch; print('gpu_check on', torch.cuda.get_device_name(0))" | tee "$OUT/gpu.txt"

step tests 180 $PY -m pytest -m cuda -p no:cacheprovider -q tests
step run 180 $PY -m bench run --gnn gatedgnn --split val --preset tiny --device cuda --no-progress
step properties 120 $PY -m bench properties --gnn gatedgnn --preset tiny --device cuda --nets 16 --label-steps 2 \
    --max-steps 3 --label-workers 2 --no-progress
step profile 180 $PY -m bench profile --device cuda --only predict_resnet50,train_step --no-memory --no-progress \
    --json "$OUT/gpu_profile.json"
step ddp 120 $PY -m torch.distributed.run --standalone --nproc_per_node 1 -m bench train --gnn gcn --preset tiny \
    --steps 20 --device cuda --no-progress

echo
echo "gpu_check summary ($(cat "$OUT/gpu.txt")), logs in $OUT:"
printf '  %s\n' "${summary[@]}"
grep -q FAIL <<<"${summary[*]}" && exit 1
exit 0
