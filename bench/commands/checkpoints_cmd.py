"""`bench list-checkpoints`: the trained GHNs under $GHNBENCH_HOME/checkpoints, with what they are
and how they scored (from the records that name them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.config.paths import checkpoint_root, results_root


def configure(p: argparse.ArgumentParser) -> None:
    """`bench list-checkpoints`' options."""
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (default $GHNBENCH_HOME/checkpoints)")
    p.add_argument("--results", default=None, help="result records naming them (default $GHNBENCH_HOME/results)")
    p.set_defaults(func=run_list)


def scores(results: Path) -> dict[str, list[dict]]:
    """Readable records by the checkpoint they name (its key, bench.config.records.checkpoint_key)."""
    from bench.config.records import checkpoint_key
    from bench.config.schema import RecordError, read_record

    out: dict[str, list[dict]] = {}
    for path in sorted(results.glob("*.json")) if results.is_dir() else []:
        try:
            record = read_record(path)
        except RecordError:
            continue
        out.setdefault(checkpoint_key(record.get("checkpoint") or ""), []).append(record)
    return out


def run_list(args: argparse.Namespace) -> int:
    """Print one line per checkpoint: its name (what gnn_zoo.load takes), core, steps, and per
    record naming it the data set, preset, seed and top-1 of its split."""
    from gnn_zoo import GHN

    root = Path(args.checkpoints or checkpoint_root())
    files = sorted(root.glob("*.pt")) if root.is_dir() else []
    if not files:
        print(f"no checkpoints in {root}: train one with `bench train --gnn gatedgnn` (or `bench run`)")
        return 0
    by_path = scores(Path(args.results or results_root()))
    print(f"{len(files)} checkpoints in {root} (load one with gnn_zoo.load(NAME)):")
    for path in files:
        try:
            ckpt = GHN.read_checkpoint(path)
        except ValueError as err:
            print(f"  {path.stem}: unreadable ({err})")
            continue
        config, train = ckpt["config"], ckpt.get("train") or {}
        records = by_path.get(path.stem, [])
        seen = ", ".join(
            f"{r['split']} {r['metrics']['ghn']['mean']:.1f}%" for r in sorted(records, key=lambda r: r["split"])
        )
        where = (
            f"{records[0]['dataset']}, {records[0]['preset']}, seed {records[0]['seed']}" if records else "no records"
        )
        steps = f"{train['step']} steps" if "step" in train else "no training state"
        if train.get("of") and train["step"] < train["of"]:
            steps = f"in progress: step {train['step']} of {train['of']}"
        print(
            f"  {path.stem}: {config['core']}/{config['backend']} ({config.get('view')}), {steps}; {where}"
            + (f"; top-1 {seen}" if seen else "")
        )
    return 0
