"""Published reference rows (imported from papers, never measured here), clearly labelled."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

DEFAULT = Path(__file__).with_name("reference.csv")
COLUMNS = ["source", "model", "dataset", "preset", "metric", "split", "mean", "stderr"]


def reference_cells(path: str | os.PathLike = DEFAULT) -> pd.DataFrame:
    """Imported rows as leaderboard cells (seeds 0: not our runs, `imported` True)."""
    frame = pd.read_csv(path, comment="#")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"reference file {path} lacks columns {missing}; expected {', '.join(COLUMNS)}")
    frame = frame.assign(seeds=0, imported=True)  # preset: the budget the paper used
    bad = sorted(set(frame["metric"]) - {"top1", "top5"})
    if bad:
        raise ValueError(f"reference file {path} has metric(s) {bad}; expected top1 or top5")
    return frame[["dataset", "preset", "metric", "model", "split", "mean", "stderr", "seeds", "imported"]]
