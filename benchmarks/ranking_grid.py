"""The ranking grid, run with the recipe the variance study adopted (docs/variance-study.md).

It reads the study's records, applies the rule (leaderboard.arms.adopted) and refuses while the
decision is pending; then it writes the adopted arm's power table (benchmarks/power_table.py:
the comparison chosen by simulation, the resolution by seeds) into the grid's folder and runs
every core, the paper's MLP and GHN-3 as published on val and ood-deep at the named preset made
from the adopted arm (`--preset NAME`: it must be `rank` with the arm's fields; the script says
which fields when it is not), as many seeds as a 5-point difference needs (at least 12, at most
24: all 24 when the table finds 5 points at no tabulated count), seed by seed, committing
records as they land (resumable: rerun the same command).

The three lenses describe the same runs. Each job scores its GHN's embeddings lens before
evaluating it (`bench sweep --properties`: its property record lands in --properties, in the
job's commit, beside the 1,000 nets' shared labels, which are completed first; on a new machine
that is its inference times, measured before any job starts). Once the accuracy grid has its
seeds, a second sweep fine-tunes the first FINETUNE_SEEDS seeds' GHNs from their checkpoints
(the fine-tuning lens, FINETUNE, into --finetune-results): fine-tuning 5 nets of each split
adds 5-10 minutes to a job on 2 busy cores (docs/results-log.md, 2026-12-04), against rank's 6.7
of training, so it runs after the headline instead of inside it.

    python benchmarks/ranking_grid.py --study results/variance-study --results results/ranking --preset NAME --commit
    python benchmarks/ranking_grid.py --study results/variance-study --results results/ranking --preset NAME --dry-run
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from bench.commands.cli import main as bench
from leaderboard.arms import adopted, arms_of, decision, plain_arm
from leaderboard.records import run_records

sys.path.insert(0, str(Path(__file__).parent))
from variance_study import arm_preset, flags_of  # noqa: E402  (the study's arms: their flags and presets)

TARGET_DIFF = 5.0  # points the ranking must resolve
SEEDS = (12, 24)  # a model's seeds: at least 12, and 24 where the power table says 5 points need more
GRID = ("--gnn", "all", "--ghn", "ghn2,mlp,ghn3", "--split", "val,ood-deep")
PROPERTY_NETS = 1000  # the embeddings lens's nets, GHN-2's 500 + 500
FINETUNE = "10,50,200"  # the fine-tuning lens's steps, as its published tables (5 nets a split, lr 0.05)
FINETUNE_SEEDS = 6  # its seeds: twice the published tables' 3


def study_decision(study: str) -> tuple[tuple[str, ...] | None, str]:
    """(the adopted arm's `bench sweep` flags, its preset label), or (None, why not yet)."""
    arms = arms_of(run_records([study]) if Path(study).is_dir() else [])
    plain = plain_arm(arms)
    if plain is None:
        return None, f"no records of the plain arm in {study}"
    best = adopted(arms, plain)
    if best is None:
        return None, f"the study's decision is pending: {decision(arms, plain)}"
    flags = flags_of(best.what, study)
    if flags is None:
        return None, f"the adopted arm ({best.what}) is none of variance_study.ARMS nor their combination"
    return flags, best.name


def preset_mismatch(name: str, flags: tuple[str, ...]) -> str | None:
    """Why the named preset `name` is not `rank` with the adopted arm's `flags` (None when it is:
    the grid runs the decision, under a name of its own)."""
    import dataclasses

    from bench.config.presets import PRESETS, RUNTIME_FIELDS

    if name not in PRESETS:
        return f"--preset {name}: no such preset; add it to bench/config/presets.py as extends(RANK, {name!r}, ...)"
    wanted = dataclasses.asdict(arm_preset(flags))
    have = dataclasses.asdict(PRESETS[name])
    differ = sorted(k for k in wanted if k not in ("name", *RUNTIME_FIELDS) and wanted[k] != have.get(k))
    return (
        f"--preset {name} is not rank with {shlex.join(flags)}: it differs in {', '.join(differ)}" if differ else None
    )


def grid_models() -> list:
    """The (preset, core) models of GRID, planned by `bench sweep`'s own sweep_presets (its power
    table is simulated for as many)."""
    from bench.commands.cli import parser
    from bench.commands.sweep_cmd import sweep_presets

    argv = ["sweep", *GRID]
    return sweep_presets(parser(argv).parse_args(argv), {})


def labels_argv(properties: str) -> list[str]:
    """`bench properties` arguments completing the embeddings lens's shared labels (2 workers)."""
    return ["properties", "--labels-only", "--nets", str(PROPERTY_NETS), "--label-workers", "2", "--out", properties,
            "--no-progress"]  # fmt: skip


def grid_seeds(power: str) -> int:
    """The seeds a model the grid runs: what the power table says TARGET_DIFF needs, within SEEDS
    (its largest when the table finds it at no tabulated count: the resolution reached is then stated)."""
    from leaderboard.simulate import read_power_table

    needed = read_power_table(power).seeds_for(TARGET_DIFF)
    return SEEDS[1] if needed is None else min(max(needed, SEEDS[0]), SEEDS[1])


def grid_argv(
    preset: str, results: str, power: str, properties: str, commit: bool, dry_run: bool, seeds: int = SEEDS[0]
) -> list[str]:
    """The grid's `bench sweep` arguments at the named preset of the adopted arm, with every lens."""
    return [
        "sweep",
        *GRID,
        "--preset",
        preset,
        "--properties",
        properties,
        "--property-nets",
        str(PROPERTY_NETS),
        "--seeds",
        str(seeds),
        "--target-diff",
        str(TARGET_DIFF),
        "--power-table",
        power,
        "--results",
        results,
        "--no-progress",
        *(["--commit"] if commit else []),
        *(["--dry-run"] if dry_run else []),
    ]


def finetune_argv(preset: str, results: str, commit: bool, dry_run: bool) -> list[str]:
    """The fine-tuning lens's `bench sweep` arguments: the grid's first seeds, from their checkpoints."""
    return [
        "sweep",
        *GRID,
        "--preset",
        preset,
        "--finetune",
        FINETUNE,
        "--seeds",
        str(FINETUNE_SEEDS),
        "--results",
        results,
        "--no-progress",
        *(["--commit"] if commit else []),
        *(["--dry-run"] if dry_run else []),
    ]


def main() -> int:
    """Decide, tabulate the power, run the grid."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--study", required=True, help="the variance study's records folder")
    p.add_argument("--results", required=True, help="the grid's records folder (power.json goes there too)")
    p.add_argument(
        "--properties",
        default=None,
        help="the embeddings lens's folder: property records and the shared labels (default: "
        "properties/ beside --results)",
    )
    p.add_argument(
        "--finetune-results",
        default=None,
        help="the fine-tuning lens's records folder (default: <--results>-finetune)",
    )
    p.add_argument("--commit", action="store_true", help="commit each job's records as it lands")
    p.add_argument("--dry-run", action="store_true", help="print the grid's plan only")
    p.add_argument(
        "--preset",
        required=True,
        help="the named preset made from the adopted arm (bench/config/presets.py: rank with its fields); "
        "the grid runs it, so its records are never mixed with rank's",
    )
    args = p.parse_args()
    flags, label = study_decision(args.study)
    if flags is None:
        print(f"ranking grid: not started, {label}", file=sys.stderr)
        return 2
    print(f"ranking grid: the study adopted {shlex.join(flags) or 'plain'} (preset {label})", flush=True)
    mismatch = preset_mismatch(args.preset, flags)
    if mismatch:
        print(f"ranking grid: not started, {mismatch}", file=sys.stderr)
        return 2
    power = Path(args.results) / "power.json"
    if not power.exists():
        power.parent.mkdir(parents=True, exist_ok=True)
        table = [sys.executable, str(Path(__file__).parent / "power_table.py"), "--results", args.study,
                 "--preset", label, "--models", str(len(grid_models())), "--out", str(power)]  # fmt: skip
        if subprocess.run(table, check=False).returncode:
            return 1
    properties = args.properties or str(Path(args.results).parent / "properties")
    if not args.dry_run and bench(labels_argv(properties)):
        return 1
    seeds = grid_seeds(str(power))
    code = bench(grid_argv(args.preset, args.results, str(power), properties, args.commit, args.dry_run, seeds))
    if code:
        return code
    finetuned = args.finetune_results or f"{args.results.rstrip('/')}-finetune"
    return bench(finetune_argv(args.preset, finetuned, args.commit, args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
