"""The variance study: which training lever steadies a GHN's seeds at `rank` (docs/variance-study.md
holds the rule that decides it, written before the runs).

Every arm trains GHN-2's gated GNN and GCN at `rank`, seeds 0..N-1, scored on val and ood-deep,
into one records folder (each arm's overrides give its records a preset label of their own).
The arms run in stages of seeds (2, 4, then 8 an arm), all arms per stage, so an arm's first 4
seeds are in before any arm's later ones; an arm the rule stops after 4 seeds (its mean more
than 5 points below plain's, or 2 collapsed runs) gets no more. Once every arm has its seeds,
the arms that help (a lower spread than plain's, a mean not significantly lower) are combined
into one more arm, run the same way (the rule's step 5). Each stage is one `bench sweep` an arm:
resumable (rerun the script), and with --commit each job's records are committed as they land.

    python benchmarks/variance_study.py --results results/variance-study --commit
    python benchmarks/variance_study.py --results results/variance-study --arms plain,hyperfan --dry-run
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bench.commands.cli import main as bench
from leaderboard.arms import EARLY_SEEDS

# arm -> the `bench sweep` flags that make it (the plain arm is the rank preset as it stands)
ARMS: dict[str, tuple[str, ...]] = {
    "plain": (),
    "ghn3-init": ("--decoder-init", "ghn3"),
    # GHN-3's optimiser: AdamW, lr 4e-4, weight decay 1e-2, linear warmup over 5 of 75 epochs, then half cosine
    "ghn3-opt": (
        "--optimizer",
        "adamw",
        "--lr",
        "4e-4",
        "--weight-decay",
        "0.01",
        "--schedule",
        "cosine",
        "--warmup",
        "0.0667",
    ),
    "lr-x2": ("--lr", "4e-3"),
    "lr-x0.5": ("--lr", "1e-3"),
    "hyperfan": ("--decoder-init", "hyperfan"),
    "budget-x2": ("--steps", "2400"),
}
MODELS = "gatedgnn,gcn"
STAGES = (2, 4, 8)  # seeds an arm after each stage


def sweep_argv(flags: tuple[str, ...], seeds: int, results: str, commit: bool, dry_run: bool) -> list[str]:
    """The `bench sweep` arguments of the arm made by `flags`, up to `seeds` seeds."""
    return [
        "sweep",
        "--gnn",
        MODELS,
        "--split",
        "val,ood-deep",
        "--preset",
        "rank",
        "--seeds",
        str(seeds),
        "--results",
        results,
        "--no-progress",
        *flags,
        *(["--commit"] if commit else []),
        *(["--dry-run"] if dry_run else []),
    ]


def arm_preset(flags: tuple[str, ...]):
    """The preset an arm's `bench sweep` flags make of `rank`."""
    from bench.commands.cli import parser
    from bench.commands.options import preset_overrides
    from bench.config.presets import get_preset

    return get_preset("rank", **preset_overrides(parser(["sweep"]).parse_args(sweep_argv(flags, 1, ".", False, True))))


def changed(arm: str) -> str:
    """How the arms table names `arm`: the fields its flags change ("plain" for none)."""
    import dataclasses

    from leaderboard.arms import changed_fields

    preset = arm_preset(ARMS[arm])
    return changed_fields(preset.label, dataclasses.asdict(preset))


def study_arms(results: str):
    """The arms of the study's records and its plain arm (None without records of it)."""
    from leaderboard.arms import arms_of, plain_arm
    from leaderboard.records import run_records

    arms = arms_of(run_records([results]) if Path(results).is_dir() else [])
    return arms, plain_arm(arms)


def combination_flags(results: str) -> tuple[str, ...]:
    """The flags of the arm the rule's step 5 runs, the helping arms combined (leaderboard.arms.
    combination); () when fewer than two arms help or the rule stopped the combination early."""
    from leaderboard.arms import combination, combined_name, stopped_arms

    arms, plain = study_arms(results)
    joined = combination(arms, plain) if plain else []
    if not joined or combined_name(joined) in {a.what for a in stopped_arms(arms, plain)}:
        return ()
    return combined_flags(joined)


def combined_flags(joined) -> tuple[str, ...]:
    """The flags of the arms in `joined` (leaderboard.arms.Arm), one after the other."""
    names = [arm for j in joined for arm in ARMS if changed(arm) == j.what]
    return tuple(flag for name in names for flag in ARMS[name])


def flags_of(what: str, results: str) -> tuple[str, ...] | None:
    """The flags of the arm the arms table names `what`: one of ARMS, or the rule's combination
    of them; None for neither."""
    from leaderboard.arms import combination, combined_name

    name = next((arm for arm in ARMS if changed(arm) == what), None)
    if name is not None:
        return ARMS[name]
    arms, plain = study_arms(results)
    joined = combination(arms, plain) if plain else []
    return combined_flags(joined) if joined and combined_name(joined) == what else None


def early_stopped(results: str) -> set[str]:
    """The arms (as the arms table names them) the rule stops after EARLY_SEEDS seeds."""
    from leaderboard.arms import stopped_arms

    arms, plain = study_arms(results)
    return {a.what for a in stopped_arms(arms, plain)} if plain else set()


def main() -> int:
    """Run the chosen arms stage by stage; the exit status is the first failing sweep's."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="records folder of the study")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma list of {', '.join(ARMS)} (default all)")
    p.add_argument("--seeds", type=int, default=STAGES[-1], help=f"seeds an arm in the end (default {STAGES[-1]})")
    p.add_argument("--commit", action="store_true", help="commit each job's records as it lands")
    p.add_argument("--dry-run", action="store_true", help="print each sweep's plan only")
    p.add_argument(
        "--print-combination",
        action="store_true",
        help="print the flags of the combination the rule runs now (step 5; nothing when none) and stop",
    )
    args = p.parse_args()
    if args.print_combination:
        print(shlex.join(combination_flags(args.results)))
        return 0
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        p.error(f"--arms: unknown {', '.join(unknown)}; choose from {', '.join(ARMS)}")
    stages = sorted({min(s, args.seeds) for s in STAGES} | {args.seeds})
    for seeds in stages:
        stopped = early_stopped(args.results) if seeds > EARLY_SEEDS else set()
        for arm in arms:
            if changed(arm) in stopped:
                print(f"== variance study: arm {arm} stopped early by the rule (docs/variance-study.md)", flush=True)
                continue
            print(f"== variance study: arm {arm}, seeds 0-{seeds - 1}", flush=True)
            code = bench(sweep_argv(ARMS[arm], seeds, args.results, args.commit, args.dry_run))
            if code:
                return code
    for seeds in stages:  # the rule's step 5, once every arm has its seeds
        flags = combination_flags(args.results)
        if not flags:
            break
        print(f"== variance study: the helping arms combined ({shlex.join(flags)}), seeds 0-{seeds - 1}", flush=True)
        code = bench(sweep_argv(flags, seeds, args.results, args.commit, args.dry_run))
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
