"""`bench profile`: time the speed workloads (bench.harness.profiling) and print or save the table,
or the phases of a training step."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bench.commands.cli import main
from bench.harness.profiling import format_table, profile, workloads
from bench.harness.workloads import PHASE_STEPS, format_phases, train_step_phases


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
    names = list(workloads(gnns, backends, torch.device(args.device), Path("."), main)) + ["peak_memory_resnet50"]
    unknown = [o for o in only if not any(n.startswith(o) for n in names)]
    if unknown:
        raise ValueError(f"--only: no workload starts with {', '.join(unknown)}; workloads: {', '.join(names)}")
    if args.phases:
        if only:
            raise ValueError("--phases times the phases of a training step instead of the workloads; drop --only")
        return run_phases(args, gnns)
    rows = profile(
        gnns, backends, main, args.device, only, args.repeat, memory=not args.no_memory, progress=not args.no_progress
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
