"""The property-prediction table: how well each model's embeddings rank unseen nets by a
property (Kendall tau of `bench properties` records), over seeds, against graph statistics.

A record holds, for one trained GHN (model, seed), the held-out tau of a regressor fit on the
GHN's mean node embeddings and of the same regressor fit on plain graph statistics, on the same
nets and halvings: so each seed gives a paired difference, and a model beats graph statistics
on a property when the mean difference over its seeds is positive by a paired t-test, Holm-
adjusted over the table's models.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bench.records import model_label

from .table import to_markdown

PROPERTIES = {"accuracy": "accuracy", "noisy_accuracy": "noisy accuracy", "inference_ms": "inference time",
              "convergence": "convergence"}
GRAPH_ROW = "graph statistics"


def read_records(folders: list[Path]) -> list[dict]:
    """The `bench properties` records in `folders` (other or unreadable JSON files skipped)."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get("kind") == "properties":
                found.append(record)
    return found


def tau_frame(records: list[dict], regressor: str) -> pd.DataFrame:
    """One row per (table, model, seed, property): the embeddings' tau, graph statistics' tau."""
    rows = []
    for r in records:
        table = f"{r['dataset']}, preset {r['preset']}, {r['nets']} nets"
        for prop, score in r["scores"].items():
            rows.append({"table": table, "model": model_label(r), "seed": r["seed"], "property": prop,
                         "ghn": score["ghn"][regressor]["tau"], "graph": score["graph"][regressor]["tau"]})
    return pd.DataFrame(rows).drop_duplicates(["table", "model", "seed", "property"], keep="last")


def against_graph(diffs: pd.Series) -> float:
    """Two-sided p-value of a paired t-test that the mean of `diffs` (embeddings - graph statistics) is 0."""
    return float(stats.ttest_1samp(diffs, 0.0).pvalue) if len(diffs) >= 2 and diffs.std() > 0 else float("nan")


def property_table(frame: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Models x properties of one table: 'mean ± stderr' of tau over seeds, bold where the model
    beats graph statistics (Holm over the models, per property), then the graph statistics row."""
    props = [p for p in PROPERTIES if p in set(frame["property"])]
    out = {}
    for prop in props:
        rows = frame[frame["property"] == prop]
        by_model = rows.groupby("model")
        pvals = pd.Series({m: against_graph(g["ghn"] - g["graph"]) for m, g in by_model})
        tested = pvals.dropna()
        better = set()
        if len(tested):
            reject = multipletests(tested.values, alpha=alpha, method="holm")[0]
            better = {m for m, r in zip(tested.index, reject)
                      if r and (by_model.get_group(m)["ghn"] - by_model.get_group(m)["graph"]).mean() > 0}
        cells = {}
        for model, g in by_model:
            err = g["ghn"].std() / np.sqrt(len(g)) if len(g) > 1 else 0.0
            text = f"{g['ghn'].mean():+.2f} ± {err:.2f}"
            cells[model] = f"**{text}**" if model in better else text
        cells[GRAPH_ROW] = f"{rows['graph'].mean():+.2f}"
        out[PROPERTIES[prop]] = cells
    table = pd.DataFrame(out)
    seeds = frame.groupby("model")["seed"].nunique()
    table["seeds"] = [str(seeds.get(m, "")) for m in table.index]
    first = frame[frame["property"] == props[0]].groupby("model")["ghn"].mean()
    order = sorted(first.index, key=lambda m: -first[m])  # by the first property (accuracy), best first
    return table.loc[[*order, GRAPH_ROW]].rename_axis("model").reset_index()


def markdown(records: list[dict], regressor: str = "svr") -> str:
    """Every property table of `records` as Markdown, each with its heading and how to read it."""
    if not records:
        return ""
    frame = tau_frame(records, regressor)
    parts = []
    for name, rows in frame.groupby("table"):
        title = (f"{name}: property prediction from the GHN's embeddings, Kendall tau ({regressor.upper()}) on "
                 f"held-out nets, mean ± stderr over seeds")
        parts.append(f"{to_markdown(property_table(rows).set_index('model'), title)}\nBold: better than graph "
                     f"statistics (nodes, edges, depth, parameters) by a paired t-test over seeds, Holm-adjusted "
                     f"over the models (alpha 0.05; needs 2 or more seeds).")
    return "\n\n".join(parts)
