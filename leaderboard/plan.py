"""How many seeds a grid needs: the resolution of leaderboard.stats, from records already run."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from bench.config.schema import RecordError, read_record, table_preset

from .simulate import read_power_table
from .stats import seeds_needed, split_stats
from .table import arch_frame


def plan_seeds(
    results: str | os.PathLike, dataset: str, preset: str, target: float, models: int
) -> tuple[int | None, str]:
    """The seeds per model that find a `target`-point difference among `models` models at 80%
    power, from the seed SD and model x net variance measured in the records of (dataset,
    preset) under `results` (the worst split decides), and a line saying so; (None, why) when
    the records cannot tell (fewer than two seeds of two models in any split)."""
    records = []
    for path in sorted(Path(results).glob("*.json")):
        try:
            record = read_record(path)
        except RecordError:
            continue
        if record["dataset"] == dataset and table_preset(record) == preset:
            records.append(record)
    rows = arch_frame(records)
    needs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nets missing from a run: planned on the common ones
        for split in sorted(rows["split"].unique()):
            analysis = split_stats(rows, split)
            if analysis is not None and analysis.resolution is not None:
                r = analysis.resolution
                needs.append((seeds_needed(target, r.seed_sd, r.interaction_var, models), split, r))
    if not needs:
        return None, (
            f"no {dataset}/{preset} records with two or more seeds of two models under {results}: "
            f"nothing to plan from yet"
        )
    reachable = [n for n in needs if n[0] is not None]
    if len(reachable) < len(needs):
        split = next(s for n, s, _ in needs if n is None)
        return None, f"a {target:g}-point difference is out of reach on {split}: the nets' own variance exceeds it"
    n, split, r = max(reachable, key=lambda x: x[0] or 0)  # every n is set here
    return n, (
        f"a {target:g}-point difference among {models} models needs {n} seeds per model at 80% power "
        f"({split} decides: seed SD {r.seed_sd:.2f}, measured over {len(records)} {dataset}/{preset} records)"
    )


def plan_seeds_simulated(path: str | os.PathLike, target: float) -> tuple[int | None, str]:
    """The seeds per model a simulated power table (leaderboard.simulate.PowerTable JSON) says
    find a `target`-point difference at 80% power, and a line saying so."""

    table = read_power_table(path)
    n = table.seeds_for(target)
    design = (
        f"simulated: the {table.method} comparison, {table.grid.models} models, {table.seeds.describe()}, "
        f"{table.grids} grids a cell ({path})"
    )
    if n is None:
        return None, (
            f"a {target:g}-point difference is not found with 80% power at any tabulated seed count "
            f"({', '.join(map(str, sorted(table.power)))}; {design})"
        )
    return n, f"a {target:g}-point difference needs {n} seeds per model at 80% power ({design})"
