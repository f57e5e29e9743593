"""`bench profile`'s measurements: the workloads' rounds timed (bench.harness.workloads), set
against the reference GHN-2 code's figures measured on the 2-core development machine and the
ratios we aim for, as a table."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from tqdm.auto import tqdm

from bench.harness.workloads import (
    DEEPNETS_SIZES,
    Entry,
    Reference,
    Round,
    cached_read_round,
    core_forward_round,
    deepnets_graph_round,
    eval_round,
    generate_round,
    grid_round,
    peak_memory_resnet50,
    predict_resnet50_round,
    torchvision_graph_round,
    train_step_round,
)

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
    gnns: tuple[str, ...], backends: tuple[str, ...], device: torch.device, workdir: Path, entry: Entry
) -> dict[str, tuple[Callable[[], Round], str, int]]:
    """name -> (setup returning a Round, unit, default repeats) for `bench profile` (`entry`: the
    `bench` command line's main, which the grid workloads run a sweep through)."""
    table: dict[str, tuple[Callable[[], Round], str, int]] = {
        "generate": (generate_round, "arch/s", 5),
        "cached_read": (partial(cached_read_round, workdir / "cache"), "ms", 200),
        "graph_resnet50": (partial(torchvision_graph_round, "resnet50"), "ms", 10),
        "graph_vit_b_16": (partial(torchvision_graph_round, "vit_b_16"), "ms", 10),
    }
    for size in DEEPNETS_SIZES:
        table[f"graph_deepnets_{size}"] = (partial(deepnets_graph_round, size), "ms", 10)
    table["grid_sequential"] = (partial(grid_round, False, workdir, entry), "s", 1)  # only when asked for: minutes
    table["grid_parallel"] = (partial(grid_round, True, workdir, entry), "s", 1)
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
    entry: Entry,
    device: str = "cpu",
    only: tuple[str, ...] = (),
    repeat: int | None = None,
    memory: bool = True,
    progress: bool = True,
) -> list[Measurement]:
    """Measure every workload (or those whose name starts with one of `only`)."""
    dev = torch.device(device)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        table = workloads(gnns, backends, dev, Path(tmp), entry)
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
