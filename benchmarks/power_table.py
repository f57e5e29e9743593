"""The ranking grid's statistic and power table, by the rule in docs/variance-study.md ("The
statistic of the ranking grid"): fit the seed distribution of one arm's records (each model's
seeds centred on its median) and measure their per-net noise and model x net interaction,
choose the comparison by simulation, and tabulate its power by
seeds a model and difference, as JSON for `bench leaderboard --power-table` and `bench sweep
--target-diff D --power-table`.

    python benchmarks/power_table.py --results results/variance-study --preset rank --out results/power.json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from deepnets1m.atomic import atomic_write
from leaderboard.arms import arms_of
from leaderboard.records import run_records
from leaderboard.simulate import choose_comparison, fit_grid, fit_seeds, power_table
from leaderboard.stats import Scores, common_nets, scores_of
from leaderboard.table import BASELINE, arch_frame

SEED_COUNTS = (6, 8, 10, 12, 16, 20, 24)
DELTAS = tuple(np.round(np.arange(2.0, 10.01, 0.5), 1))


def arm_scores(records: list[dict]) -> list[Scores]:
    """Each model's per-net GHN accuracies (seeds x nets) in one arm's records, on the nets every run has."""
    rows = arch_frame(records)
    rows, _ = common_nets(rows[rows["model"] != BASELINE])
    return scores_of(rows)


def main() -> int:
    """Fit, choose, tabulate, write."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help="records folder")
    p.add_argument("--preset", required=True, help="the arm's preset label (e.g. rank, or rank-<hash>)")
    p.add_argument(
        "--method",
        default="auto",
        choices=("auto", "welch", "trimmed"),
        help="auto (default): the pre-registered choice by simulation",
    )
    p.add_argument("--models", type=int, default=7, help="models in the grid (default 7)")
    p.add_argument("--grids", type=int, default=400, help="simulated grids a cell (default 400)")
    p.add_argument("--out", required=True, help="the JSON power table to write")
    args = p.parse_args()
    records = [r for r in run_records([args.results]) if r["preset"] == args.preset]
    arms = arms_of(records)
    if args.preset not in arms:
        p.error(f"no complete seeds of preset {args.preset} in {args.results}")
    fitted = fit_seeds(list(arms[args.preset].seeds.values()))
    grid = fit_grid(arm_scores(records), args.models)
    print(f"fitted seeds: {fitted.describe()} ({sum(map(len, arms[args.preset].seeds.values()))} seeds)")
    print(
        f"measured: per-net noise SD {grid.noise_sd:.1f}, model x net interaction SD {grid.interaction_sd:.1f}, "
        f"nets' SD {grid.net_sd:.1f} ({grid.splits} splits of {grid.nets} nets); simulated with {grid.models} models"
    )
    method = args.method
    if method == "auto":
        method, rates = choose_comparison(fitted, grid, grids=max(args.grids, 2000))
        for name, (fit, normal) in rates.items():
            print(
                f"  {name}: family-wise error {fit.family_wise_error:.1%} fitted / {normal.family_wise_error:.1%} "
                f"normal, power at 5 points {fit.power:.2f} fitted"
            )
        print(f"chosen: {method}")
    table = power_table(method, fitted, grid, list(SEED_COUNTS), [float(d) for d in DELTAS], args.grids)
    with atomic_write(args.out, "w") as f:
        json.dump(table.to_json(), f, indent=1)
    for count in SEED_COUNTS:
        print(f"  {count} seeds: detect {table.detectable(count)} points at 80% power")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
