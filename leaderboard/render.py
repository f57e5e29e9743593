"""`bench leaderboard`: sync the index, build the tables, write Markdown/HTML/CSV and plots."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.config.presets import base_fields
from bench.config.schema import parse_method
from deepnets1m.atomic import atomic_write

from . import plots
from .arms import changed_fields
from .db import SyncReport, latest_record_files, sync
from .properties import PropertyTables
from .reference import reference_cells
from .simulate import PowerTable
from .site import write_site
from .stats import (
    ALPHA,
    CD_MIN_SEEDS,
    MIN_SEEDS,
    OVERALL,
    RankAgreement,
    RankStats,
    SplitStats,
    annotate,
    rank_agreement,
    rank_stats,
)
from .table import (
    BASELINE,
    METRIC_LABELS,
    arch_frame,
    catch_up_column,
    cells,
    groups,
    leaderboard,
    model_label,
    net_frame,
    runs_frame,
    table_key,
    tidy,
    to_html,
    to_markdown,
)

WRITTEN = ("md", "csv")  # written beside the site (index.html) by --out


@dataclass
class Rendered:
    """The rendered text of each format, files written, and what the sync reported."""

    text: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    sync: SyncReport | None = None
    imported: int = 0  # published rows that joined a table (--reference)


def method_phrase(method: str) -> str:
    """What a table of `method` scores, as its heading says it."""
    k = parse_method(method)
    if k is not None:
        return (
            f"after {k} fine-tuning steps from predicted parameters (the random init row: the same {k} steps "
            f"from random init)"
        )
    return {
        "ghn": "of predicted parameters",
        "sgd": "after k SGD steps from random init",
        "random_init": "of random init",
    }[method]


def title(dataset: str, preset: str, metric: str, seeds: int | None = None, method: str = "ghn") -> str:
    """Heading of one leaderboard; with `seeds` (the fewest of any cell), whether it marks best groups."""
    head = f"{dataset}, preset {preset}: {METRIC_LABELS[metric]} {method_phrase(method)}, mean ± stderr"
    if seeds is None:
        return head
    return head + (
        f" (fewer than {MIN_SEEDS} seeds per cell: no best group marked)"
        if seeds < MIN_SEEDS
        else " (bold: each split's best group)"
    )


@dataclass
class Section:
    """One leaderboard (data set, preset, metric): its cells and per-net rows, the paired
    analyses of its splits, the rank statistics across splits, the text table, and the
    (file path, record) pairs it was built from with their per-net detail (`nets`, every split)."""

    dataset: str
    preset: str
    metric: str
    cells: pd.DataFrame
    archs: pd.DataFrame
    splits: list[SplitStats]
    ranks: RankStats | None
    table: pd.DataFrame
    records: list[tuple[str, dict]]
    nets: pd.DataFrame
    method: str = "ghn"  # whose accuracy the table ranks (bench leaderboard --method)
    agreement: RankAgreement | None = None  # of a fine-tuned (ftK) table's order with the 0-step table's
    comparison: str = "welch"  # the pairwise comparison (leaderboard.stats.METHODS)
    power: PowerTable | None = None  # the simulated power table its resolution is read from

    @property
    def stem(self) -> str:
        """File name stem of the section's plots and page: <dataset>_<preset>."""
        return f"{self.dataset}_{self.preset}"

    @property
    def fewest_seeds(self) -> int:
        """The fewest seeds of any of our (not imported) model cells."""
        ours = self.cells[~self.cells["imported"].astype(bool) & (self.cells["model"] != BASELINE)]
        return int(ours["seeds"].min()) if len(ours) else 0

    @property
    def heading(self) -> str:
        """The section's title."""
        return title(self.dataset, self.preset, self.metric, self.fewest_seeds, self.method)

    @property
    def headline(self) -> SplitStats | None:
        """The analysis over every split (split a fixed effect), or the only split's."""
        overall = [a for a in self.splits if a.split == OVERALL]
        return overall[0] if overall else (self.splits[0] if len(self.splits) == 1 else None)

    def notes(self) -> list[str]:
        """What the statistics say, as lines under the table: how the best group is made (or why
        there is none), each split's resolution, the headline's decided pairs, collapsed runs and
        the Friedman test (with enough seeds)."""
        lines = [note for note in (self.preset_note(),) if note]
        if self.splits and self.fewest_seeds >= MIN_SEEDS:
            test = (
                "Games-Howell over the seeds"
                if self.comparison == "welch"
                else "Yuen-Welch on 20%-trimmed seed means, Holm-corrected"
            )
            lines.append(
                f"Best group (bold): the split's best model and every model not significantly worse "
                f"(α = {ALPHA}, {test} with the model x net variance; "
                f"docs/leaderboard.md says how to read it)."
            )
        elif self.splits:
            lines.append(f"No best group marked: some cell has {self.fewest_seeds} seed(s), fewer than {MIN_SEEDS}.")
        lines += self.resolution_notes()
        head = self.headline
        if head is not None and head.seeds >= 2:
            decided = head.pairs[head.pairs["differs"]]
            text = "; ".join(
                f"{p.a if p.diff > 0 else p.b} > {p.b if p.diff > 0 else p.a} "
                f"({abs(p.diff):.1f} [{min(abs(p.ci_low), abs(p.ci_high)):.1f}, "
                f"{max(abs(p.ci_low), abs(p.ci_high)):.1f}])"
                for p in decided.itertuples()
            )
            lines.append(f"Decided over {head.split} ({len(decided)} of {len(head.pairs)} pairs): {text or 'none'}.")
        if self.agreement is not None:
            lines.append(self.agreement.describe("the 0-step table (predicted parameters, no training)"))
        sgd = self.sgd_note()
        if sgd:
            lines.append(sgd)
        if self.table["avg rank"].str.endswith("*").any():
            lines.append("avg rank: over the splits every model has; * marks a model missing some split.")
        provenance = self.provenance_note()
        if provenance:
            lines.append(provenance)
        cost = self.compute_note()
        if cost:
            lines.append(cost)
        collapsed = self.collapsed_runs()
        if collapsed:
            lines.append(
                "Collapsed runs (training loss at chance or no better than random init; kept in every "
                "figure): " + ", ".join(f"{m} {n}" for m, n in collapsed.items()) + "."
            )
        if self.ranks is not None and len(self.ranks.seeds) >= CD_MIN_SEEDS:
            r = self.ranks
            lines.append(
                f"Friedman over {len(r.seeds)} seed blocks ({', '.join(r.splits)} averaged): "
                f"χ² = {r.statistic:.2f}, p = {r.pvalue:.3g}; Nemenyi critical difference "
                f"{r.critical_difference:.2f} ranks."
            )
        return lines

    def preset_note(self) -> str | None:
        """What a hashed preset label (`tiny-3fa2c1d0`) stands for: the fields its records changed
        from the named preset."""

        label = self.preset.split("@")[0]
        name = label.rsplit("-", 1)[0]
        if name == label or not self.records:
            return None
        fields = self.records[0][1].get("preset_fields") or {}
        if base_fields(name, fields.get("ghn", "ghn2")) is None:
            return None
        text = changed_fields(label, fields)
        return f"Preset {label}: {name} with {'its own settings' if text == 'plain' else text}."

    def resolution_notes(self) -> list[str]:
        """What the seeds resolve: from the simulated power table when there is one, else by the
        normal formula (the mean comparison only)."""
        if self.power is not None and self.splits:
            p, seeds = self.power, self.fewest_seeds
            found = p.detectable(seeds)
            need = ", ".join(f"{d:g} points {p.seeds_for(d) or 'beyond the table'}" for d in (3.0, 4.0, 5.0))
            return [
                f"Resolution (simulated: {p.method}, {p.seeds.describe()}, {p.grids} grids a cell): {seeds} seeds "
                + (
                    f"detect {found:g} points at 80% power"
                    if found is not None
                    else "are not tabulated or detect no tabulated difference at 80% power"
                )
                + f"; seeds needed per model for {need}."
            ]
        if self.comparison != "welch" and self.splits:
            return [
                "Resolution: not stated (the normal formula holds for the mean comparison only); give "
                "--power-table, a simulated power table of this comparison."
            ]
        return [f"Resolution, {a.split}: {a.resolution.describe()}." for a in self.splits if a.resolution]

    def sgd_note(self) -> str | None:
        """The k-SGD-steps baseline per split (the mean over seeds of its records' summaries; it
        runs on the first few nets only, so it joins no test), or None without it."""
        if self.method != "ghn":
            return None
        by_split: dict[str, dict[int, tuple[float, int]]] = {}
        steps = None
        for _, r in self.records:
            sgd = r["metrics"].get("sgd")
            if sgd and r.get("sgd_steps"):
                by_split.setdefault(r["split"], {})[r["seed"]] = (sgd["mean"], sgd["n"])
                steps = r["sgd_steps"]
        if not by_split:
            return None
        parts = [
            f"{split} {np.mean([m for m, _ in seeds.values()]):.1f} ({max(n for _, n in seeds.values())} nets)"
            for split, seeds in sorted(by_split.items())
        ]
        return (
            f"Baseline, {steps} SGD steps from random init (the first nets of each split only): "
            + ", ".join(parts)
            + "."
        )

    def provenance_note(self) -> str | None:
        """Where rows were made otherwise than most of the table's records (another CPU, torch
        version or ghnbench commit: a user's rows joined to shipped ones), or None."""

        def origin(r: dict) -> tuple[str, str, str]:
            return (
                (r.get("hardware") or {}).get("cpu") or "?",
                (r.get("versions") or {}).get("torch") or "?",
                (r.get("git_commit") or "?")[:7],
            )

        counts: dict[tuple, int] = {}
        by_model: dict[str, set] = {}
        for _, r in self.records:
            counts[origin(r)] = counts.get(origin(r), 0) + 1
            by_model.setdefault(model_label(r), set()).add(origin(r))
        if len(counts) < 2:
            return None
        usual = max(counts, key=lambda key: counts[key])
        names = ("CPU", "torch", "commit")

        def text(o: tuple) -> str:
            return ", ".join(f"{n} {v}" for n, v, u in zip(names, o, usual) if v != u)

        odd = [
            f"{m}: {'; '.join(text(o) for o in sorted(origins) if o != usual)}"
            for m, origins in sorted(by_model.items())
            if origins - {usual}
        ]
        return (
            f"Made elsewhere than most rows ({', '.join(f'{n} {v}' for n, v in zip(names, usual))}): "
            + "; ".join(odd)
            + "."
        )

    def compute_note(self) -> str | None:
        """What the table's runs cost: each GHN's training once (its records' CPU time, else their
        wall-clock time) and each record's evaluation where the record times it, in CPU hours, on
        which CPUs; None when no record says."""
        training: dict[tuple, tuple[float, bool]] = {}  # (model, seed) -> (seconds, by CPU time)
        evaluating, timed, cpus = 0.0, 0, set()
        for _, r in self.records:
            cpu, wall = (r.get("training") or {}).get("cpu_seconds"), r.get("train_seconds")
            if cpu is not None:
                training[model_label(r), r["seed"]] = (float(cpu), True)
            elif wall is not None:
                training[model_label(r), r["seed"]] = (float(wall), False)
            if r.get("eval_cpu_seconds") is not None:
                evaluating, timed = evaluating + r["eval_cpu_seconds"], timed + 1
            hw = r.get("hardware") or {}
            cpus.add(f"{hw.get('gpu') or hw.get('cpu') or '?'} ({hw.get('cores', '?')} cores)")
        if not training and not timed:
            return None
        walls = sum(not by_cpu for _, by_cpu in training.values())
        text = f"Compute: {len(training)} GHNs trained in {sum(s for s, _ in training.values()) / 3600:.1f} CPU hours"
        if walls:
            text += f" ({walls} of them by wall-clock time: their records have no CPU time)"
        if timed:
            text += f", {timed} of the {len(self.records)} records evaluated in {evaluating / 3600:.1f} CPU hours"
        return text + f"; on {', '.join(sorted(cpus))}."

    def collapsed_runs(self) -> dict[str, str]:
        """model -> "n of runs" for models with collapsed runs (records' training.collapsed)."""

        runs: dict[str, set] = {}
        bad: dict[str, set] = {}
        for _, r in self.records:
            key = model_label(r)
            runs.setdefault(key, set()).add(r.get("seed"))
            if (r.get("training") or {}).get("collapsed"):
                bad.setdefault(key, set()).add(r.get("seed"))
        return {m: f"{len(s)} of {len(runs[m])}" for m, s in sorted(bad.items())}


def build_sections(
    db: str | os.PathLike,
    dataset: str | None = None,
    preset: str | None = None,
    method: str = "ghn",
    metric: str = "auto",
    reference: bool = False,
    paths: set[str] | None = None,
    as_of: str | None = None,
    comparison: str = "welch",
    power: PowerTable | None = None,
) -> list[Section]:
    """Every (data set, preset, metric) leaderboard in the index, with its paired statistics,
    plus, when asked, the imported reference rows of the same data sets and metric (shown
    whatever our preset: they are the paper's full-budget figures; a top-5 figure never joins
    a top-1 table; they join no test, having no per-net results); only records in `paths`
    when given."""
    files = latest_record_files(db, paths, as_of, dataset=dataset, preset=preset)
    records = [record for _, record in files]
    raw = runs_frame(records, method, metric)
    frame, archs = cells(raw), arch_frame(records, method, metric)
    nets = net_frame(records, method, metric)
    if reference and len(frame):  # published rows join every table of their data set and metric
        ref = reference_cells()
        tables = frame[["dataset", "preset", "metric"]].drop_duplicates()
        ref = ref.drop(columns="preset").merge(tables, on=["dataset", "metric"])
        frame = pd.concat([frame, ref.reindex(columns=frame.columns)], ignore_index=True)
    k = parse_method(method)  # an ftK table: compared with the 0-step table's order, with catch-up steps
    zero_step = runs_frame(records, "ghn", metric) if k is not None else None
    sections = []
    for d, p, m, g in groups(frame):

        def in_table(f: pd.DataFrame, d=d, p=p, m=m) -> pd.DataFrame:
            return f[(f["dataset"] == d) & (f["preset"] == p) & (f["metric"] == m)]

        rows = in_table(archs)
        annotated, splits = annotate(g, rows, comparison)
        own = [(path, r) for path, r in files if table_key(r, metric) == (d, p, m)]
        table, agreement = leaderboard(annotated), None
        if k is not None:
            agreement = rank_agreement(in_table(zero_step), in_table(raw))
            table["random init catches up at (steps)"] = table.index.map(
                catch_up_column([r for _, r in own], k)
            ).fillna("")
        sections.append(
            Section(
                d,
                p,
                m,
                annotated,
                rows,
                splits,
                rank_stats(rows),
                table,
                own,
                in_table(nets),
                method,
                agreement,
                comparison,
                power,
            )
        )
    return sections


def render(
    db: str | os.PathLike,
    results: list[str | os.PathLike],
    out: str | os.PathLike | None = None,
    dataset: str | None = None,
    preset: str | None = None,
    method: str = "ghn",
    metric: str = "auto",
    reference: bool = False,
    with_plots: bool = True,
    properties: PropertyTables | None = None,
    as_of: str | None = None,
    comparison: str = "welch",
    power: PowerTable | None = None,
) -> Rendered:
    """Sync `results` into `db`, render every (dataset, preset) leaderboard, the `properties`
    tables after them; with `out`, write leaderboard.md/.csv (properties.csv), the PNG plots and
    the site (index.html first in `files`; atomically)."""

    done = Rendered(sync=sync(db, results))
    if power is not None and power.method != comparison:
        raise ValueError(
            f"--power-table simulates the {power.method} comparison, not {comparison}: pass "
            f"--comparison {power.method} or a table of {comparison}"
        )
    sections = build_sections(
        db,
        dataset,
        preset,
        method,
        metric,
        reference,
        paths=done.sync.paths if done.sync is not None else None,
        as_of=as_of,
        comparison=comparison,
        power=power,
    )
    if not sections:
        raise ValueError(
            f"no records to show (results: {', '.join(map(str, results))}"
            f"{', dataset ' + dataset if dataset else ''}{', preset ' + preset if preset else ''}); "
            f"run `bench run ...` first"
        )
    done.imported = int(sum(s.cells["imported"].astype(bool).sum() for s in sections))
    done.text["md"] = "\n".join(
        to_markdown(s.table, s.heading) + "".join(f"\n{line}\n" for line in s.notes()) for s in sections
    )
    done.text["html"] = "<!doctype html>\n<meta charset='utf-8'>\n<title>ghnbench leaderboard</title>\n" + "\n".join(
        to_html(s.table, s.heading) + "".join(f"<p>{html.escape(line)}</p>\n" for line in s.notes()) for s in sections
    )
    done.text["csv"] = tidy(pd.concat([s.cells for s in sections], ignore_index=True)).to_csv(index=False)
    appendix = properties.html() if properties is not None else ""  # the HTML text's and the site's
    if properties is not None:
        done.text["md"] += f"\n{properties.markdown()}\n"
        done.text["html"] += appendix
    if out is None:
        return done
    out = Path(out)
    written = {f"leaderboard.{fmt}": done.text[fmt] for fmt in WRITTEN}
    if properties is not None:
        written["properties.csv"] = properties.csv()
    for name, text in written.items():
        with atomic_write(out / name, "w") as f:
            f.write(text)
        done.files.append(out / name)
    figures: list[Path] = []
    if with_plots:
        for s in sections:
            figures += plots.section_plots(s, out / s.stem, s.heading.split(":")[0])
    done.files = write_site(sections, out, {f.name for f in figures}, appendix) + done.files + figures
    return done
