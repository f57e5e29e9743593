"""`bench profile`: time the speed workloads (bench.harness.workloads), compare them with the reference
GHN-2 code's figures measured on the 2-core development machine and the ratios we
aim for, and print or save the table."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from bench.commands.cli import main
from bench.harness.workloads import (
    DEEPNETS_SIZES,
    PHASE_STEPS,
    Reference,
    Round,
    cached_read_round,
    core_forward_round,
    deepnets_graph_round,
    eval_round,
    format_phases,
    generate_round,
    peak_memory_resnet50,
    predict_resnet50_round,
    torchvision_graph_round,
    train_step_phases,
    train_step_round,
)
from bench.launchers.threads import usable_cpus

REFERENCES = {
    "generate": Reference(6.1, "arch/s", 10.0, True),
    # the reference GHN-2 code on the 2-core dev machine, re-measured side by side with ours 2026-12-05
    # (benchmarks/side_by_side.py --reference; 280 ms on 2026-11-29)
    "predict_resnet50": Reference(171.2, "ms", 3.0, False),
    "train_step": Reference(0.94, "arch/s", 2.0, True),
    "train_step_amp": Reference(0.94, "arch/s", 2.0, True),
    "peak_memory_resnet50": Reference(260.0, "MiB", 1.0, False),
}


@dataclass
class Measurement:
    """The figures of one workload: per-round times and how to report them."""

    name: str
    seconds: list[float]
    items: int
    unit: str  # "arch/s" (rate), "ms" or "s" (time per round), "MiB" or "x" (stored as is)
    reference: Reference | None = None

    @property
    def value(self) -> float:
        """The median round as the workload's unit."""
        median = statistics.median(self.seconds)
        if self.unit == "arch/s":
            return self.items / median
        if self.unit == "ms":
            return 1000 * median
        return median  # s, MiB, x: stored as is

    @property
    def ratio(self) -> float | None:
        """How many times better than the reference (> 1: better)."""
        if self.reference is None:
            return None
        ref = self.reference.value
        return self.value / ref if self.reference.higher_better else ref / max(self.value, 1e-9)


def time_rounds(round_: Round, repeat: int, warmup: int = 1) -> list[float]:
    """Seconds of each of `repeat` rounds, after `warmup` untimed ones."""
    for _ in range(warmup):
        round_.run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        round_.run()
        times.append(time.perf_counter() - t0)
    return times


def workloads(
    gnns: tuple[str, ...], backends: tuple[str, ...], device: torch.device, workdir: Path
) -> dict[str, tuple[Callable[[], Round], str, int]]:
    """name -> (setup returning a Round, unit, default repeats) for `bench profile`."""
    table: dict[str, tuple[Callable[[], Round], str, int]] = {
        "generate": (generate_round, "arch/s", 5),
        "cached_read": (partial(cached_read_round, workdir / "cache"), "ms", 200),
        "graph_resnet50": (partial(torchvision_graph_round, "resnet50"), "ms", 10),
        "graph_vit_b_16": (partial(torchvision_graph_round, "vit_b_16"), "ms", 10),
    }
    for size in DEEPNETS_SIZES:
        table[f"graph_deepnets_{size}"] = (partial(deepnets_graph_round, size), "ms", 10)
    table["grid_sequential"] = (partial(grid_round, False, workdir), "s", 1)  # only when asked for: minutes
    table["grid_parallel"] = (partial(grid_round, True, workdir), "s", 1)
    for gnn in gnns:
        for backend in backends:
            table[f"predict_resnet50[{gnn}/{backend}]"] = (
                partial(predict_resnet50_round, gnn, backend, device),
                "ms",
                10,
            )
            table[f"core_forward[{gnn}/{backend}]"] = (partial(core_forward_round, gnn, backend, device), "ms", 10)
        table[f"train_step[{gnn}]"] = (partial(train_step_round, gnn, device), "arch/s", 4)
        table[f"train_step_amp[{gnn}]"] = (partial(train_step_round, gnn, device, amp=True), "arch/s", 4)
        table[f"eval[{gnn}]"] = (partial(eval_round, gnn, device), "arch/s", 3)
    return table


def profile(
    gnns: tuple[str, ...],
    backends: tuple[str, ...],
    device: str = "cpu",
    only: tuple[str, ...] = (),
    repeat: int | None = None,
    memory: bool = True,
    progress: bool = True,
) -> list[Measurement]:
    """Measure every workload (or those whose name starts with one of `only`)."""
    from tqdm.auto import tqdm

    dev = torch.device(device)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        table = workloads(gnns, backends, dev, Path(tmp))
        chosen = [n for n in table if (n.startswith(only) if only else not n.startswith("grid"))]
        for name in tqdm(chosen, desc="profile", unit="workload", disable=not progress):
            setup, unit, default_repeat = table[name]
            round_ = setup()
            times = time_rounds(round_, repeat or default_repeat, warmup=0 if unit == "s" else 1)
            out.append(Measurement(name, times, round_.items, unit, REFERENCES.get(name.split("[")[0])))
    grid = {m.name: m.value for m in out if m.name.startswith("grid_")}
    if len(grid) == 2:
        out.append(
            Measurement(
                "grid_speedup (sequential / parallel)", [grid["grid_sequential"] / grid["grid_parallel"]], 1, "x"
            )
        )
    if memory and (not only or "peak_memory_resnet50".startswith(only)):
        mib = peak_memory_resnet50(gnns[0], backends[0])
        out.append(
            Measurement(
                f"peak_memory_resnet50[{gnns[0]}/{backends[0]}]", [mib], 1, "MiB", REFERENCES["peak_memory_resnet50"]
            )
        )
    return out


def format_table(rows: list[Measurement]) -> str:
    """The measurements as a text table: value, unit, reference, ratio and whether the target is met."""
    lines = [f"{'workload':34} {'ours':>10} {'unit':6} {'reference':>10} {'ratio':>7}  target"]
    for m in rows:
        ref, ratio = m.reference, m.ratio
        if ref is None or ratio is None:
            lines.append(f"{m.name:34} {m.value:10.3g} {m.unit:6}")
            continue
        met = "met" if ratio >= ref.target_ratio else "NOT met"
        lines.append(
            f"{m.name:34} {m.value:10.3g} {m.unit:6} {ref.value:10.3g} {ratio:6.2f}x  >= {ref.target_ratio:g}x: {met}"
        )
    return "\n".join(lines)


def configure(p) -> None:
    """`bench profile`'s options."""
    from bench.commands.options import DEVICES, add_threads, on_off

    p.add_argument("--gnn", default="gatedgnn", help="GNN cores: a comma list or all (default gatedgnn)")
    p.add_argument("--backend", default="pyg", help="backends for prediction and core timings: pyg, dgl or all")
    p.add_argument("--device", default="cpu", choices=DEVICES)
    add_threads(p)
    p.add_argument(
        "--only",
        default="",
        help="comma list of workload names or name prefixes (default: all but "
        "the grid): generate, cached_read, graph_resnet50, graph_vit_b_16, graph_deepnets_<size>, "
        "grid_sequential, grid_parallel (or grid: both), and per core predict_resnet50[gnn/backend], "
        "core_forward[gnn/backend], train_step[gnn], train_step_amp[gnn], eval[gnn]",
    )
    p.add_argument("--repeat", type=int, default=None, help="timed rounds per workload (default: per workload)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement (a subprocess)")
    p.add_argument(
        "--phases",
        action="store_true",
        help="instead of the workloads, time the phases of a training step (where its time goes)",
    )
    p.add_argument(
        "--step",
        default="ghn2",
        choices=tuple(PHASE_STEPS),
        help="the training step --phases times: ghn2 (default: 8 nets <= 1M params, 64 images 3x32x32) "
        "tiny (the tiny preset's: 1 net <= 5e5 params, 64 images 1x8x8) or rank (the rank preset's: 4 such nets)",
    )
    p.add_argument(
        "--amp",
        type=on_off,
        default=True,
        metavar="on|off",
        help="bfloat16 autocast for --phases where the device supports it (default on)",
    )
    p.add_argument("--json", default=None, help="also write the measurements to this JSON file")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_profile)


def run_profile(args) -> int:
    """Run `bench profile`."""
    from bench.commands.options import check_device, choose, usable_backends
    from bench.launchers.threads import set_threads
    from gnn_zoo import available

    set_threads(args.threads)
    gnns = choose(args.gnn, tuple(sorted(available())), "--gnn: unknown value")
    backends = usable_backends(args.backend)
    check_device(args.device)
    only = tuple(t.strip() for t in args.only.split(",") if t.strip())
    names = list(workloads(gnns, backends, torch.device(args.device), Path("."))) + ["peak_memory_resnet50"]
    unknown = [o for o in only if not any(n.startswith(o) for n in names)]
    if unknown:
        raise ValueError(f"--only: no workload starts with {', '.join(unknown)}; workloads: {', '.join(names)}")
    if args.phases:
        if only:
            raise ValueError("--phases times the phases of a training step instead of the workloads; drop --only")
        return run_phases(args, gnns)
    rows = profile(
        gnns, backends, args.device, only, args.repeat, memory=not args.no_memory, progress=not args.no_progress
    )
    print(
        f"ghnbench profile on {args.device} ({torch.get_num_threads()} threads), median round; "
        f"reference: the GHN-2 code on the 2-core dev machine"
    )
    print(format_table(rows))
    if args.json:
        save_json(
            args.json,
            [
                {
                    "name": m.name,
                    "value": m.value,
                    "unit": m.unit,
                    "seconds": m.seconds,
                    "items": m.items,
                    "ratio": m.ratio,
                }
                for m in rows
            ],
        )
    return 0


def run_phases(args, gnns: tuple[str, ...]) -> int:
    """`bench profile --phases`: one phase table per core."""
    out = {}
    for gnn in gnns:
        step = PHASE_STEPS[args.step]
        out[gnn] = train_step_phases(gnn, torch.device(args.device), args.amp, args.repeat or 4, **step)
        print(format_phases(gnn, out[gnn], step["meta_batch"]))
    if args.json:
        save_json(args.json, {"phases": out, "step": args.step, "amp": args.amp, "device": args.device})
    return 0


def save_json(path: str, value) -> None:
    """`--json`: write `value` to `path` atomically and say so."""
    from deepnets1m.atomic import atomic_write

    with atomic_write(Path(path), "w") as f:
        json.dump(value, f, indent=1)
    print(f"wrote {path}")


GRID = ("--gnn", "gcn,mlp", "--split", "val", "--seeds", "2", "--steps", "40", "--eval-nets", "4")  # 4 tiny jobs


def grid_round(parallel: bool, workdir: Path, grid: tuple[str, ...] = GRID) -> Round:
    """A small `tiny` grid (GRID: 4 jobs) run by `bench sweep --launcher local` from empty folders
    each round: as the sweep shares the CPUs out (one 1-thread job per usable CPU), or
    sequentially (one job at a time with every CPU); `bench profile --only grid` reports both and
    their ratio."""
    rounds = itertools.count()

    def run():
        home = workdir / f"grid{'-parallel' if parallel else '-sequential'}{next(rounds)}"
        argv = [
            "sweep",
            *grid,
            "--launcher",
            "local",
            "--no-progress",
            "--results",
            str(home / "results"),
            "--checkpoints",
            str(home / "checkpoints"),
            "--logs",
            str(home / "logs"),
        ]
        if not parallel:
            argv += ["--parallel", "1", "--threads", str(usable_cpus())]
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        if code != 0:
            raise RuntimeError(f"the profiled grid failed: `bench {' '.join(argv)}` (logs in {home / 'logs'})")

    return Round(run, 1)
