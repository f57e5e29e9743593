"""`bench properties`: property prediction from a trained GHN's embeddings (bench.harness.properties)."""

from __future__ import annotations

import argparse
import json
import sys

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
        help="compute missing labels in N one-thread worker processes (default 1: in this process); "
        "their inference times are then measured side by side",
    )
    p.add_argument("--out", default=None, help="records folder (default $GHNBENCH_HOME/properties)")
    p.add_argument(
        "--labels-only",
        action="store_true",
        help="compute (or complete) the shared labels of the --nets nets under --out/.labels and stop: "
        "no GHN needed (labels are shared by every GHN scored on the same nets, data and recipe)",
    )
    p.set_defaults(func=run_properties)


def run_properties(args: argparse.Namespace) -> int:
    """Run `bench properties`: labels (shared), embeddings, fits; print and record the scores."""
    import numpy as np
    import torch

    from bench.commands.run_cmd import setup, trained_checkpoint
    from bench.config.paths import properties_root
    from bench.harness.properties import (
        LabelRecipe,
        embeddings,
        format_scores,
        labels,
        property_record,
        property_record_name,
        property_scores,
    )
    from bench.launchers.threads import usable_cpus
    from deepnets1m.atomic import atomic_write
    from gnn_zoo import GHN

    if args.nets < 4:
        raise ValueError(f"--nets {args.nets}: the fits need at least 4 nets (2 to fit, 2 to score)")
    data, preset, spec = setup(args)
    cpus = usable_cpus()
    if args.label_workers > cpus:
        print(
            f"warning: --label-workers {args.label_workers} is more than this machine's {cpus} usable CPUs: "
            "the workers will wait on each other",
            file=sys.stderr,
        )
    out = check_writable(args.out or properties_root(), "--out" if args.out else "GHNBENCH_HOME")
    ckpt = None if args.labels_only else trained_checkpoint(args, spec)[0]  # before the labels: fails fast
    recipe = LabelRecipe(steps=args.label_steps, target_loss=args.target_loss, max_steps=args.max_steps)
    device = torch.device(args.device)
    rows, features, graphs = labels(
        data,
        args.dataset,
        recipe,
        args.nets,
        out / ".labels",
        device,
        progress=not args.no_progress,
        workers=args.label_workers,
    )
    if ckpt is None:
        print(f"labels of {len(rows)} nets ({args.dataset}, {recipe}) in {out / '.labels'}")
        return 0
    ghn = GHN.load(ckpt, backend=args.backend).to(device)
    scores = property_scores(embeddings(ghn, graphs), np.stack(features), rows)
    print(format_scores(scores))
    record = property_record(args, preset.label, recipe, scores, ckpt)
    path = out / property_record_name(record)
    with atomic_write(path, "w") as f:
        json.dump(record, f, indent=1)
    print(f"record: {path}")
    return 0
