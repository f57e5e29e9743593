#!/usr/bin/env bash
# The variance study (docs/variance-study.md), then its step 5 (the helping arms combined), then
# the 1,000 shared property labels (on the machine idle but for them: their inference times are
# measured), then the ranking grid at the adopted arm's named preset (step 4, once a session has
# named it), on the code tagged `grid-code` (GHN-2's decoder version 2). Records and labels are committed on
# branch `study` as they land. Restart it after any stop or reboot: every step resumes.
# STUDY: the `study` worktree (records land there); GRIDTREE: a worktree at tag grid-code; PY: the
# Python with ghnbench's dependencies. Run a copy, so that editing this file never disturbs a run:
#   cp benchmarks/study_chain.sh /tmp/chain.sh && STUDY=$PWD/../study GRIDTREE=$PWD/../gridtree \
#     PY=$PWD/.venv/bin/python setsid nohup bash /tmp/chain.sh > ../study.log 2>&1 < /dev/null &
set -u
cd "$STUDY" || exit 1
# 0. what a stop left: git's index lock of a killed commit (stale after a minute: a commit holds it
#    for under a second), and records written before their commit (committed now, with their manifest)
lock=$(git rev-parse --git-path index.lock)
if [ -n "$(find "$lock" -mmin +1 2>/dev/null)" ]; then
  echo "chain: removing $lock, left by a commit a stop killed"
  rm -f "$lock"
fi
if [ -d results ] && [ -n "$(git status --porcelain -- results)" ]; then
  git add -A results && git commit -qm "results: what a stopped run wrote before its commit" -- results || exit $?
fi
# 1. the seven arms, on the study's own code (decoder version 1, as its first runs)
PYTHONPATH="$STUDY" "$PY" benchmarks/variance_study.py --results results/variance-study --commit || exit $?
# 2. step 5 on the same code; $GRIDTREE (tag grid-code) knows the combination rule
for seeds in 2 4 8; do
  FLAGS=$(PYTHONPATH="$GRIDTREE" "$PY" "$GRIDTREE"/benchmarks/variance_study.py --results results/variance-study --print-combination) || exit $?
  [ -z "$FLAGS" ] && break
  echo "== variance study: the helping arms combined ($FLAGS), seeds 0-$((seeds - 1))"
  PYTHONPATH="$STUDY" "$PY" -m bench sweep --gnn gatedgnn,gcn --split val,ood-deep --preset rank --seeds $seeds \
    --results results/variance-study --no-progress $FLAGS --commit || exit $?
done
# 3. the property labels
if [ ! -e results/properties/.labels/done ]; then
  # run from $GRIDTREE: `python -m` puts the current folder (here the study's code) before PYTHONPATH
  (cd "$GRIDTREE" && PYTHONPATH="$GRIDTREE" "$PY" -m bench properties --labels-only --preset rank --nets 1000 \
    --label-workers 2 --out "$STUDY/results/properties" --no-progress) || exit $?
  date -u +%FT%TZ > results/properties/.labels/done
  git add results/properties && git commit -qm "results: the 1,000 property nets' shared labels (digits, label recipe defaults; inference times on $(lscpu | sed -n 's/^Model name: *//p'))"
fi
# 4. the ranking grid, once a session has made the adopted arm a named preset: added it to
#    bench/config/presets.py, tagged the tested main `grid-code`, checked it out in $GRIDTREE,
#    merged grid-code into study (the study's sweeps done: they run decoder version 1) and written
#    the preset's name into results/ranking/PRESET on study
if [ -s results/ranking/PRESET ]; then
  PYTHONPATH="$STUDY" "$PY" benchmarks/ranking_grid.py --study results/variance-study --results results/ranking \
    --preset "$(cat results/ranking/PRESET)" --commit || exit $?
  echo "chain: the ranking grid and its fine-tuning pass are done"
else
  echo "chain: the study and the labels are done; the grid waits for its named preset (step 4 of benchmarks/study_chain.sh)"
fi
