#!/usr/bin/env bash
# Every `bench` command's output on a small run (tiny preset, 20 steps), one file per command in
# OUT, for comparing a refactoring's behaviour: run it on the commits before and after, then
#   tools/command_outputs.sh before/ (on the old commit); tools/command_outputs.sh after/
#   for f in before/*.txt; do diff <(sed -E 's/[0-9.]+/N/g' $f) <(sed -E 's/[0-9.]+/N/g' after/${f#before/}); done
# (times, temporary paths and timed property labels differ between runs; accuracies on one machine do not).
# Usage: tools/command_outputs.sh OUT [PYTHON]
# Run from the checkout to be measured, with it first on PYTHONPATH.
set -u
OUT=$(realpath -m "$1"); PY=${2:-python}
mkdir -p "$OUT"
export GHNBENCH_HOME=$OUT/home OMP_NUM_THREADS=1
b() { name=$1; shift; echo "\$ bench $*" > "$OUT/$name.txt"; $PY -m bench "$@" >> "$OUT/$name.txt" 2>&1; echo "rc=$?" >> "$OUT/$name.txt"; }
b help --help
for c in run train eval predict generate sweep leaderboard publish profile properties reproduce list-checkpoints; do
  b "help-$c" "$c" --help
done
S="--steps 20 --eval-nets 4 --no-progress --threads 1"
b run run --gnn gcn --split val --preset tiny $S
b run-again run --gnn gcn --split val --preset tiny $S
b train train --gnn mlp --preset tiny --steps 20 --no-progress --threads 1
b eval eval --gnn mlp --split val --preset tiny $S
b predict predict --gnn gcn --preset tiny --steps 20 --model resnet18 --no-progress
b generate generate --split val --n 5
b sweep-dry sweep --gnn gcn,mlp --split val --seeds 2 --preset tiny --steps 20 --eval-nets 4 --dry-run --no-progress
b sweep sweep --gnn gcn,mlp --split val --seeds 2 --preset tiny --steps 20 --eval-nets 4 --launcher local --no-progress
b leaderboard leaderboard
b leaderboard-site leaderboard --out "$OUT/site"
b list-checkpoints list-checkpoints
b reproduce reproduce "$(ls "$OUT"/home/results/gcn_pyg_val_digits_tiny*_0.json | head -1)" --no-progress
b profile profile --only generate --repeat 1 --no-memory --no-progress
b properties properties --gnn gcn --preset tiny --steps 20 --nets 8 --label-steps 5 --no-progress --threads 1
b bad-flag run --gnn gcnn --split val
b publish-check publish --check
(cd "$OUT/home" && find . -type f | sort) > "$OUT/files.txt"
