"""Seaborn figures of a leaderboard: heatmap model x split, bars with error bars, ID vs OOD scatter."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed (cluster nodes, CI)
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .table import METRIC_LABELS, SPLIT_ORDER, pivot  # noqa: E402

ID_SPLITS = ("val", "test")


def heatmap(cells: pd.DataFrame, title: str, path: Path) -> Path:
    """Mean accuracy per model x split, annotated."""
    table = pivot(cells)
    fig, ax = plt.subplots(figsize=(1.2 * len(table.columns) + 3, 0.5 * len(table) + 1.5))
    sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis", cbar_kws={"label": metric_label(cells)}, ax=ax)
    ax.set(title=title, xlabel="split", ylabel="")
    return save(fig, path)


def bars(cells: pd.DataFrame, title: str, path: Path) -> Path:
    """Grouped bars per split, one colour per model, error bars = stderr."""
    order = [s for s in SPLIT_ORDER if s in set(cells["split"])]
    models = list(dict.fromkeys(cells["model"]))
    fig, ax = plt.subplots(figsize=(1.3 * len(order) + 3, 4))
    sns.barplot(cells, x="split", y="mean", hue="model", order=order, hue_order=models, ax=ax)
    width = ax.patches[0].get_width() if ax.patches else 0
    for i, model in enumerate(models):
        sub = cells[cells["model"] == model].set_index("split").reindex(order)
        x = [j - 0.4 + width * (i + 0.5) for j in range(len(order))]
        ax.errorbar(x, sub["mean"], yerr=sub["stderr"], fmt="none", ecolor="black", capsize=2, lw=1)
    ax.set(title=title, xlabel="split", ylabel=metric_label(cells))
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    return save(fig, path)


def id_vs_ood(cells: pd.DataFrame, title: str, path: Path) -> Path | None:
    """Per model: mean over in-distribution splits (val/test) vs mean over ood-* splits; None
    when no model has both."""
    kind = cells["split"].map(lambda s: "id" if s in ID_SPLITS else "ood" if s.startswith("ood-") else None)
    points = cells.assign(kind=kind).dropna(subset=["kind"]).pivot_table(index="model", columns="kind", values="mean")
    if not {"id", "ood"} <= set(points.columns) or points.dropna().empty:
        return None
    points = points.dropna().reset_index()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    sns.scatterplot(points, x="id", y="ood", hue="model", s=80, ax=ax)
    lo = min(points["id"].min(), points["ood"].min()) - 2
    hi = max(points["id"].max(), points["ood"].max()) + 2
    ax.plot([lo, hi], [lo, hi], ls="--", c="grey", lw=1)
    ax.set(title=title, xlabel="in-distribution accuracy (%)", ylabel="OOD accuracy (%, mean of ood-*)")
    ax.legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    return save(fig, path)


def metric_label(cells: pd.DataFrame) -> str:
    """Axis label of the (one) metric of a leaderboard's cells."""
    return METRIC_LABELS[cells["metric"].iloc[0]]


def save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    """Write `fig` as PNG (atomically: rendered to a temp name, then moved) and close it."""
    from deepnets1m.atomic import atomic_write

    path = Path(path)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)
    return path
