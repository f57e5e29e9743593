"""`bench leaderboard`: sync the index, build the tables, write Markdown/HTML/CSV and plots."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from deepnets1m.atomic import atomic_write

from . import plots
from .db import SyncReport, latest_records, sync
from .reference import reference_cells
from .table import METRIC_LABELS, cells, groups, leaderboard, runs_frame, tidy, to_html, to_markdown

FORMATS = ("md", "html", "csv")


@dataclass
class Rendered:
    """The rendered text of each format, files written, and what the sync reported."""

    text: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    sync: SyncReport | None = None


def title(dataset: str, preset: str, metric: str) -> str:
    """Heading of one leaderboard."""
    return f"{dataset}, preset {preset}: {METRIC_LABELS[metric]} of predicted parameters, mean ± stderr"


def build_cells(db: str | os.PathLike, dataset: str | None = None, preset: str | None = None,
                method: str = "ghn", metric: str = "auto", reference: bool = False) -> pd.DataFrame:
    """All leaderboard cells from the index, plus, when asked, the imported reference rows of
    the same data sets and metric (shown whatever our preset: they are the paper's full-budget
    figures; a top-5 figure never joins a top-1 table)."""
    frame = cells(runs_frame(latest_records(db, dataset=dataset, preset=preset), method, metric))
    if reference and len(frame):  # published rows join every table of their data set and metric
        ref = reference_cells()
        tables = frame[["dataset", "preset", "metric"]].drop_duplicates()
        ref = ref.drop(columns="preset").merge(tables, on=["dataset", "metric"])
        frame = pd.concat([frame, ref.reindex(columns=frame.columns)], ignore_index=True)
    return frame


def render(db: str | os.PathLike, results: list[str | os.PathLike], out: str | os.PathLike | None = None,
           dataset: str | None = None, preset: str | None = None, method: str = "ghn", metric: str = "auto",
           reference: bool = False, with_plots: bool = True) -> Rendered:
    """Sync `results` into `db`, render every (dataset, preset) leaderboard; with `out`, write
    leaderboard.md/.html/.csv and PNG plots there (atomically)."""
    done = Rendered(sync=sync(db, results))
    frame = build_cells(db, dataset, preset, method, metric, reference)
    if frame.empty:
        raise ValueError(f"no records to show (results: {', '.join(map(str, results))}"
                         f"{', dataset ' + dataset if dataset else ''}{', preset ' + preset if preset else ''}); "
                         f"run `bench run ...` first")
    sections = [(d, p, m, g, leaderboard(g)) for d, p, m, g in groups(frame)]
    done.text["md"] = "\n".join(to_markdown(t, title(d, p, m)) for d, p, m, _, t in sections)
    done.text["html"] = ("<!doctype html>\n<meta charset='utf-8'>\n<title>ghnbench leaderboard</title>\n"
                         + "\n".join(to_html(t, title(d, p, m)) for d, p, m, _, t in sections))
    done.text["csv"] = tidy(frame).to_csv(index=False)
    if out is None:
        return done
    out = Path(out)
    for fmt in FORMATS:
        path = out / f"leaderboard.{fmt}"
        with atomic_write(path, "w") as f:
            f.write(done.text[fmt])
        done.files.append(path)
    if with_plots:
        for d, p, m, g, _ in sections:
            stem, heading = out / f"{d}_{p}", title(d, p, m).split(":")[0]
            done.files.append(plots.heatmap(g, heading, Path(f"{stem}_heatmap.png")))
            done.files.append(plots.bars(g, heading, Path(f"{stem}_bars.png")))
            scatter = plots.id_vs_ood(g, heading, Path(f"{stem}_id_vs_ood.png"))
            if scatter:
                done.files.append(scatter)
    return done
