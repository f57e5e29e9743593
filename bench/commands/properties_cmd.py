"""`bench properties`: property prediction from a trained GHN's embeddings (bench.harness.properties)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.commands.options import POSITIVE_FLOAT, POSITIVE_INT, add_run_options, check_writable


def configure(p: argparse.ArgumentParser) -> None:
    """`bench properties`' options: the trained GHN's (as bench eval) and the label recipe."""
    add_run_options(p, split=False, evaluates=())
    p.add_argument("--ckpt", default=None, help="GHN checkpoint (default: the one `bench train` wrote)")
    p.add_argument(
        "--nets",
        type=POSITIVE_INT,
        default=1000,
        help="property nets: the first N/2 of val and of test, pooled (default 1000, GHN-2's 500 + 500)",
    )
    p.add_argument(
        "--label-steps",
        type=POSITIVE_INT,
        default=10,
        help="SGD steps from random init behind the accuracy labels (default 10)",
    )
    p.add_argument(
        "--target-loss",
        type=POSITIVE_FLOAT,
        default=1.0,
        help="convergence label: the first step whose 5-step mean training loss is below this (default 1.0)",
    )
    p.add_argument(
        "--max-steps",
        type=POSITIVE_INT,
        default=50,
        help="convergence label: steps tried before a net counts as not converged (default 50)",
    )
    p.add_argument(
        "--label-workers",
        type=POSITIVE_INT,
        default=1,
        help="compute missing trained labels in N one-thread worker processes (default 1: in this process); "
        "inference times are then taken in this process, one net at a time, once the workers are done",
    )
    p.add_argument("--out", default=None, help="records folder (default $GHNBENCH_HOME/properties)")
    p.add_argument(
        "--labels-only",
        action="store_true",
        help="compute (or complete) the shared labels of the --nets nets under --out/.labels and stop: "
        "no GHN (and no --gnn) needed (labels are shared by every GHN scored on the same nets, data and recipe)",
    )
    p.set_defaults(func=run_properties)


def run_properties(args: argparse.Namespace) -> int:
    """Run `bench properties`: labels (shared), embeddings, fits; print and record the scores."""
    from bench.commands.lens import check_nets, score_and_record
    from bench.commands.run_cmd import setup, trained_checkpoint
    from bench.harness.properties import LabelRecipe

    check_nets(args.nets, "--nets")
    recipe = LabelRecipe(steps=args.label_steps, target_loss=args.target_loss, max_steps=args.max_steps)
    if args.labels_only:
        return compute_labels(args, recipe)
    data, preset, spec = setup(args)
    out = label_workers_and_out(args)
    ckpt = trained_checkpoint(args, spec)[0]  # before the labels: a missing GHN fails fast
    score_and_record(args, data, preset.label, ckpt, out, recipe, args.nets, args.label_workers)
    return 0


def label_workers_and_out(args: argparse.Namespace) -> Path:
    """The --out folder, checked writable, after a warning when --label-workers exceeds the CPUs."""
    from bench.config.paths import properties_root
    from bench.launchers.threads import usable_cpus

    cpus = usable_cpus()
    if args.label_workers > cpus:
        print(
            f"warning: --label-workers {args.label_workers} is more than this machine's {cpus} usable CPUs: "
            "the workers will wait on each other",
            file=sys.stderr,
        )
    return check_writable(args.out or properties_root(), "--out" if args.out else "GHNBENCH_HOME")


def compute_labels(args: argparse.Namespace, recipe) -> int:
    """`bench properties --labels-only`: compute (or complete) the shared labels, no GHN (no --gnn)."""
    from bench.commands.lens import torch_device
    from bench.commands.options import check_device, preset_overrides
    from bench.config.presets import get_preset
    from bench.harness.data import load_data
    from bench.harness.properties import labels
    from bench.launchers.threads import set_threads

    set_threads(args.threads)
    check_device(args.device)
    out = label_workers_and_out(args)
    resize = get_preset(args.preset, **preset_overrides(args)).resize  # the data a GHN run would see
    data = load_data(args.dataset, args.data_dir, download=args.download, resize=resize)
    rows, _, _ = labels(
        data,
        args.dataset,
        recipe,
        args.nets,
        out / ".labels",
        torch_device(args),
        progress=not args.no_progress,
        workers=args.label_workers,
    )
    print(f"labels of {len(rows)} nets ({args.dataset}, {recipe}) in {out / '.labels'}")
    return 0
