"""Old and new code side by side: training-step phases, ResNet-50 prediction and evaluation, timed in
alternating subprocesses (one thread each) for two source trees, with medians and ratios.

    git worktree add --detach /tmp/base <old commit>
    python benchmarks/side_by_side.py --base /tmp/base [--rounds 2] [--cores all]

Each measurement runs in its own process with PYTHONPATH set to the tree, so both trees run on
the same interpreter and packages; rounds alternate base/new so drifting machine load hits both.
`--reference DIR` adds the reference GHN-2 code (a facebookresearch/ppuda checkout, with einops
importable) predicting ResNet-50 at GHN-2-ImageNet's configuration, timed like `--predict`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.harness.workloads import PHASE_STEPS  # the steps as this tree defines them, passed to both trees
from deepnets1m import SPLITS

# each script imports from its tree's bench, layered (bench.<layer>.<module>) or flat as it was before
BENCH = """
import importlib
def bench(attr, *modules):
    for module in modules:
        for where in (f"bench.harness.{module}", f"bench.config.{module}", f"bench.{module}"):
            try:
                return getattr(importlib.import_module(where), attr)
            except (ModuleNotFoundError, AttributeError):
                continue
    raise ImportError(f"no {attr} in this tree's bench ({', '.join(modules)})")
"""

PHASES = (
    BENCH
    + """
import json, sys, torch
torch.set_num_threads(1)
train_step_phases = bench("train_step_phases", "workloads")
r = train_step_phases(sys.argv[1], torch.device("cpu"), False, int(sys.argv[3]), **json.loads(sys.argv[2]))
print(json.dumps(sum(r.values())))
"""
)

PREDICT = (
    BENCH
    + """
import json, statistics, sys, torch
torch.set_num_threads(1)
time_rounds = bench("time_rounds", "profiling", "profile")
predict_resnet50_round = bench("predict_resnet50_round", "workloads")
rounds = time_rounds(predict_resnet50_round(sys.argv[1], "pyg", torch.device("cpu")), int(sys.argv[2]))
print(json.dumps(statistics.median(rounds)))
"""
)

REFERENCE_PREDICT = """
import json, statistics, sys, time, torch, torchvision
torch.set_num_threads(1)
from ppuda.ghn.nn import GHN
ghn = GHN(max_shape=(64, 64, 16, 16), num_classes=1000, hypernet="gatedgnn", decoder="conv", weight_norm=True,
          ve=True, layernorm=True, hid=32).eval()  # GHN-2-ImageNet's configuration, random weights
model = torchvision.models.resnet50()
times = []
for _ in range(int(sys.argv[1]) + 1):  # graph + GHN forward + writing the parameters; the first round warms up
    start = time.perf_counter()
    ghn(model)
    times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times[1:])))
"""

EVAL = (
    BENCH
    + """
import json, sys, time, torch
torch.set_num_threads(1)
load_data = bench("load_data", "data")
accuracy, owns_params = bench("accuracy", "evaluate"), bench("owns_params", "evaluate")
input_size, make_net = bench("input_size", "nets"), bench("make_net", "nets")
get_preset = bench("get_preset", "presets")
protocol_ghn = bench("protocol_ghn", "workloads")
from deepnets1m import SPLITS, sample, spec_graph
split = sys.argv[1]
nets = min(int(sys.argv[2]), SPLITS[split].size)
data, preset = load_data("digits"), get_preset("tiny")
ghn = protocol_ghn("gatedgnn", image_size=data.image_size).eval()
images = data.eval_batches(preset.eval_images, preset.eval_batch, split)
start = time.perf_counter()
for i in range(nets):  # bench eval of a core after the first: the baselines are read, not computed
    spec = sample(split, i)
    size = input_size(spec, data.image_size)
    graph = spec_graph(spec, data.num_classes, data.in_channels, size)
    net = make_net(spec, data.num_classes, data.in_channels, data.image_size, init=False)
    with torch.no_grad():
        net = ghn(net, graph=graph if owns_params(graph, net) else None) or net
    accuracy(net, images, size, torch.device("cpu"))
print(json.dumps(time.perf_counter() - start))
"""
)


def measure(tree: Path, code: str, *args: str) -> float:
    """Seconds that `code` prints, run from `tree` (first on the path, before any PYTHONPATH already
    set) with one thread."""
    path = os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], env=env, check=True, cwd=tree, capture_output=True, text=True
    ).stdout  # cwd too: `python -c` puts it first on the path
    return float(out.strip().splitlines()[-1])


def main() -> None:
    """Parse the trees and workloads, alternate them, print one line per workload."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", type=Path, required=True, help="the old source tree (a git worktree)")
    p.add_argument(
        "--new", type=Path, default=Path(__file__).resolve().parents[1], help="the new tree (default: this one)"
    )
    p.add_argument("--cores", default="gatedgnn", help="comma list, or all")
    p.add_argument("--steps", default="tiny,rank", help=f"comma list of {', '.join(PHASE_STEPS)} (none: no step)")
    p.add_argument("--predict", action="store_true", help="also time predicting ResNet-50's parameters")
    p.add_argument(
        "--eval",
        default="",
        metavar="SPLIT[,SPLIT...]",
        help="also time bench eval's later-core path (predict, then score on tiny's digits images)",
    )
    p.add_argument("--eval-nets", type=int, default=10, help="nets of each --eval split")
    p.add_argument(
        "--reference",
        type=Path,
        help="a reference GHN-2 checkout (ppuda): time its ResNet-50 prediction against the new tree's gatedgnn",
    )
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--repeat", type=int, default=8, help="timed training steps per measurement")
    args = p.parse_args()
    cores = ("gatedgnn", "gcn", "gat", "gin", "transformer", "mlp") if args.cores == "all" else args.cores.split(",")
    # (name, code, args): the same measurement in both trees
    same = [
        (f"{step} step [{core}]", PHASES, (core, json.dumps(PHASE_STEPS[step]), args.repeat if step != "ghn2" else 3))
        for step in args.steps.split(",")
        if step != "none"
        for core in cores
    ]
    if args.predict:
        same += [(f"predict ResNet-50 [{core}]", PREDICT, (core, 20)) for core in cores]
    same += [
        (f"eval {split} x{min(args.eval_nets, SPLITS[split].size)}", EVAL, (split, args.eval_nets))
        for split in args.eval.split(",")
        if split
    ]
    work = [(name, (args.base, code, extra), (args.new, code, extra)) for name, code, extra in same]
    if args.reference:
        work.append(
            (
                "predict ResNet-50 [ref vs gatedgnn]",
                (args.reference, REFERENCE_PREDICT, (20,)),
                (args.new, PREDICT, ("gatedgnn", 20)),
            )
        )
    print(f"{'workload':36} {'base ms':>9} {'new ms':>9} {'speed-up':>9}")
    for name, *sides in work:
        times = {"base": [], "new": []}
        for _ in range(args.rounds):
            for label, (tree, code, extra) in zip(times, sides):
                times[label].append(measure(tree, code, *extra))
        base, new = (1000 * statistics.median(times[k]) for k in ("base", "new"))
        print(f"{name:36} {base:9.1f} {new:9.1f} {base / new:8.2f}x", flush=True)


if __name__ == "__main__":
    main()
