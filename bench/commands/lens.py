"""The embeddings lens of a trained GHN (`bench properties`, `bench run --properties`): score it
on the property nets' shared labels and write its property record."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from bench.commands.options import check_writable
from bench.config.records import checkpoint_key
from bench.config.schema import property_record_name
from bench.harness.properties import (
    LabelRecipe,
    embeddings,
    format_scores,
    labels,
    missing_labels,
    property_record,
    property_scores,
)
from deepnets1m.atomic import atomic_write
from gnn_zoo import GHN


def check_nets(nets: int, flag: str) -> None:
    """A ValueError naming `flag` when `nets` property nets are too few for the fits."""
    if nets < 4:
        raise ValueError(f"{flag} {nets}: the fits need at least 4 nets (2 to fit, 2 to score)")


def torch_device(args: argparse.Namespace) -> torch.device:
    """The torch device of a command's --device."""
    return torch.device(args.device)


def score_and_record(
    args: argparse.Namespace, data, label: str, ckpt: Path, out: Path, recipe: LabelRecipe, nets: int, workers: int = 1
) -> Path:
    """Score the GHN in `ckpt` on the first `nets` property nets (their shared labels under
    out/.labels, computed where missing in `workers` processes), print the scores and write its
    property record into `out` (`args`: the command's options, for the GHN's identity; `label`:
    its preset's label); the record's path."""
    device, cpu = torch_device(args), time.process_time()
    rows, features, graphs = labels(
        data, args.dataset, recipe, nets, out / ".labels", device, progress=not args.no_progress, workers=workers
    )
    ghn = GHN.load(ckpt, backend=args.backend).to(device)
    scores = property_scores(embeddings(ghn, graphs), np.stack(features), rows)
    print(format_scores(scores))
    record = {**property_record(args, label, recipe, nets, scores, ckpt), "cpu_seconds": time.process_time() - cpu}
    path = out / property_record_name(record)
    with atomic_write(path, "w") as f:
        json.dump(record, f, indent=1)
    print(f"record: {path}")
    return path


def property_lens(args: argparse.Namespace) -> Path | None:
    """The --properties folder of `bench run` or `bench sweep`, checked before anything trains:
    writable and holding every label of its --property-nets nets (else a ValueError naming the
    command that computes them); None without --properties."""
    if not args.properties:
        return None
    check_nets(args.property_nets, "--property-nets")
    out = check_writable(Path(args.properties), "--properties")
    missing = missing_labels(out / ".labels", args.dataset, LabelRecipe(), args.property_nets, torch_device(args))
    if missing:
        raise ValueError(
            f"--properties {args.properties}: {missing} of the {args.property_nets} property nets have no labels "
            f"in {out / '.labels'} ({args.dataset}, the label recipe's defaults; inference times are per machine); "
            f"compute them first, on an otherwise idle machine since inference is timed: `bench properties "
            f"--labels-only --dataset {args.dataset} --nets {args.property_nets} --out {args.properties}`"
        )
    return out


def lens_record(args: argparse.Namespace, data, label: str, ckpt: Path, out: Path) -> Path:
    """The property record of a run's GHN in `out` (`bench run --properties`): kept when one of the
    same checkpoint is there (a resumed job), else scored and written."""
    identity = {"ghn": args.ghn, "gnn": args.gnn, "backend": args.backend, "view": args.view, "dataset": args.dataset}
    path = out / property_record_name({**identity, "preset": label, "seed": args.seed, "nets": args.property_nets})
    try:
        if json.loads(path.read_text())["checkpoint"] == checkpoint_key(ckpt):
            print(f"property record of this GHN kept: {path}")
            return path
    except (OSError, ValueError, KeyError):
        pass  # none yet, or unreadable: scored again
    return score_and_record(args, data, label, ckpt, out, LabelRecipe(), args.property_nets)
