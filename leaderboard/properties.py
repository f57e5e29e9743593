"""The property-prediction table: how well each model's embeddings rank unseen nets by a
property (Kendall tau of `bench properties` records), over seeds, against graph statistics.

A record holds, for one trained GHN (model, seed), the held-out tau of a regressor fit on the
GHN's mean node embeddings and of the same regressor fit on plain graph statistics, on the same
nets and halvings: so each seed gives a paired difference, and a model beats graph statistics
on a property when the mean difference over its seeds is positive by a paired t-test, Holm-
adjusted over the table's models. Models are compared with each other as the accuracy tables
compare them (leaderboard.stats: Games-Howell over seeds, a seed's tau the replicate; the nets
and halvings are the same for every model, so the comparison holds for these nets): a
property's best group is the best model by mean tau and every model not significantly worse,
marked when every model has MIN_SEEDS seeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bench.config.schema import model_label

from .stats import MIN_SEEDS, Scores, best_group, compare
from .table import to_html, to_markdown

PROPERTIES = {
    "accuracy": "accuracy",
    "noisy_accuracy": "noisy accuracy",
    "inference_ms": "inference time",
    "convergence": "convergence",
}
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
            rows.append(
                {
                    "table": table,
                    "model": model_label(r),
                    "seed": r["seed"],
                    "property": prop,
                    "ghn": score["ghn"][regressor]["tau"],
                    "graph": score["graph"][regressor]["tau"],
                }
            )
    return pd.DataFrame(rows).drop_duplicates(["table", "model", "seed", "property"], keep="last")


def against_graph(diffs: pd.Series) -> float:
    """Two-sided p-value of a paired t-test that the mean of `diffs` (embeddings - graph statistics) is 0."""
    return float(stats.ttest_1samp(diffs, 0.0).pvalue) if len(diffs) >= 2 and diffs.std() > 0 else float("nan")


def best_models(group: pd.DataFrame) -> set[str]:
    """One property's best group among the models of `group` (rows per model and seed): the best
    by mean tau and every model not significantly worse (leaderboard.stats' Games-Howell over
    seeds); empty with fewer than 2 models or MIN_SEEDS seeds for some model."""
    scores = [
        Scores(model, g["seed"].tolist(), g["ghn"].to_numpy()[:, None], np.zeros(1))
        for model, g in group.groupby("model")
    ]
    if len(scores) < 2 or min(len(s.seeds) for s in scores) < MIN_SEEDS:
        return set()
    return best_group(*compare(scores, details=False))


def property_summary(frame: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (table, model, property): tau's mean, stderr and seeds, graph statistics' mean
    tau on the same records, the paired t-test's p-value against them, Holm-adjusted over the
    table's models per property, whether the model is better, and whether it is in the
    property's best group (the CSV's long form)."""
    rows = []
    for (table, prop), group in frame.groupby(["table", "property"], sort=False):
        best = best_models(group)
        models = []
        for model, g in group.groupby("model"):
            diffs = g["ghn"] - g["graph"]
            models.append(
                {
                    "table": table,
                    "model": model,
                    "property": prop,
                    "tau": g["ghn"].mean(),
                    "stderr": g["ghn"].std() / np.sqrt(len(g)) if len(g) > 1 else 0.0,
                    "seeds": len(g),
                    "graph_tau": g["graph"].mean(),
                    "p": against_graph(diffs),
                    "gain": diffs.mean(),
                }
            )
        tested = [m for m in models if m["p"] == m["p"]]
        adjusted = multipletests([m["p"] for m in tested], alpha=alpha, method="holm")[1] if tested else []
        for m, p in zip(tested, adjusted):
            m["p_holm"] = float(p)
        for m in models:
            m.setdefault("p_holm", float("nan"))
            gain = m.pop("gain")
            m["better_than_graph"] = bool(m["p_holm"] <= alpha and gain > 0)
            m["best_group"] = m["model"] in best
        rows += models
    return pd.DataFrame(rows)


def property_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Models x properties of one table's summary rows: 'mean ± stderr' of tau over seeds, bold
    where the model beats graph statistics, a dagger where it is in the property's best group,
    then the graph statistics row; best first by the first property (accuracy)."""
    props = [p for p in PROPERTIES if p in set(summary["property"])]
    out = {}
    for prop in props:
        rows = summary[summary["property"] == prop].set_index("model")
        cells = {
            m: (f"**{r.tau:+.2f} ± {r.stderr:.2f}**" if r.better_than_graph else f"{r.tau:+.2f} ± {r.stderr:.2f}")
            + (" †" if r.best_group else "")
            for m, r in rows.iterrows()
        }
        cells[GRAPH_ROW] = f"{rows['graph_tau'].mean():+.2f}"
        out[PROPERTIES[prop]] = cells
    table = pd.DataFrame(out)
    seeds = summary.groupby("model")["seeds"].max()
    table["seeds"] = [str(seeds.get(m, "")) for m in table.index]
    first = summary[summary["property"] == props[0]].set_index("model")["tau"]
    order = sorted(first.index, key=lambda m: -first[m])
    return table.loc[[*order, GRAPH_ROW]].rename_axis("model")


READING = (
    "Bold: better than graph statistics (nodes, edges, depth, parameters) by a paired t-test over seeds, "
    "Holm-adjusted over the models (alpha 0.05; needs 2 or more seeds). †: the property's best group, the best "
    "model and those not significantly worse (Games-Howell over seeds, as the accuracy tables; marked with "
    f"{MIN_SEEDS} or more seeds a model)."
)


@dataclass
class PropertyTables:
    """Every property table of a set of records, ready to print in each format."""

    summary: pd.DataFrame  # property_summary's long form (CSV)
    tables: dict[str, pd.DataFrame]  # heading -> models x properties (display)

    def markdown(self) -> str:
        """Each table as Markdown with its heading and how to read it."""
        return "\n\n".join(f"{to_markdown(t, heading)}\n{READING}" for heading, t in self.tables.items())

    def html(self) -> str:
        """Each table as an HTML section with its heading and how to read it."""
        return "\n".join(f'{to_html(t, heading)}<p class="note">{READING}</p>\n' for heading, t in self.tables.items())

    def csv(self) -> str:
        """The long form: one row per table, model and property."""
        return self.summary.to_csv(index=False)


def property_tables(records: list[dict], regressor: str = "svr") -> PropertyTables | None:
    """The property tables of `records` (None without records): one per (data set, preset, nets)."""
    if not records:
        return None
    summary = property_summary(tau_frame(records, regressor))
    tables = {
        f"{name}: property prediction from the GHN's embeddings, Kendall tau ({regressor.upper()}) on "
        f"held-out nets, mean ± stderr over seeds": property_table(rows)
        for name, rows in summary.groupby("table", sort=False)
    }
    return PropertyTables(summary, tables)
