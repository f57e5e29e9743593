"""Seaborn figures of a leaderboard: heatmap, bars, ID vs OOD scatter, critical-difference diagram
(with enough seeds), probability-of-improvement matrix. Models are sorted by average rank; the
random-init baseline is drawn apart."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display needed (cluster nodes, CI)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scikit_posthocs as sp  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.config.schema import chance_loss, method, model_label, parse_method
from deepnets1m.atomic import atomic_write

from .arms import arm_order, seed_frame  # noqa: E402
from .stats import ALPHA, CD_MIN_SEEDS, RankStats, SplitStats, improvement_matrix  # noqa: E402
from .table import BASELINE, METRIC_LABELS, SPLIT_ORDER, metric_key, pivot  # noqa: E402

BASELINE_STYLE: dict[str, Any] = {"color": "grey", "ls": "--", "lw": 1.2}

ID_SPLITS = ("val", "test")


def section_plots(section, stem: Path, title: str) -> list[Path]:
    """Every figure of one leaderboard section (render.Section), written as stem_<kind>.png."""
    order = [m for m in section.table.index if m != BASELINE]  # by average rank
    files: list[Path | None] = [
        heatmap(section.cells, order, title, Path(f"{stem}_heatmap.png")),
        bars(section.cells, order, title, Path(f"{stem}_bars.png")),
        id_vs_ood(section.cells, title, Path(f"{stem}_id_vs_ood.png")),
    ]
    if section.ranks is not None and len(section.ranks.seeds) >= CD_MIN_SEEDS:
        files.append(cd_diagram(section.ranks, title, Path(f"{stem}_cd.png"))[0])
    head = section.headline
    if head is not None and len(head.pairs) and head.seeds >= 2:
        files.append(improvement_plot(head, order, title, Path(f"{stem}_improvement.png")))
    losses = loss_frame([record for _, record in section.records])
    if len(losses):
        files.append(loss_curves(losses, order, title, Path(f"{stem}_loss.png")))
    curves = finetune_frame([record for _, record in section.records], section.metric)
    if len(curves):
        files.append(finetune_curves(curves, order, title, Path(f"{stem}_finetune.png")))
    for split, nets in section.nets.groupby("split"):
        files.append(
            net_scatter(
                nets,
                order,
                f"{title}, {split}",
                stem.parent / nets_plot_name(stem.name, split),
                baseline_label(section.method),
            )
        )
    return [f for f in files if f is not None]


def nets_plot_name(stem: str, split: str) -> str:
    """The file name of a table's per-net scatter plot of one split."""
    return f"{stem}_nets_{split}.png"


def heatmap(cells: pd.DataFrame, order: list[str], title: str, path: Path) -> Path:
    """Mean accuracy per model x split, annotated; rows by average rank, the baseline last,
    under a line."""
    table = pivot(cells)
    rows = [m for m in order if m in table.index] + ([BASELINE] if BASELINE in table.index else [])
    table = table.loc[rows]
    label_width = 0.09 * max(map(len, rows))  # inches for the row labels, written horizontally
    fig, ax = plt.subplots(figsize=(1.2 * len(table.columns) + 2.5 + label_width, 0.5 * len(table) + 1.5))
    sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis", cbar_kws={"label": metric_label(cells)}, ax=ax)
    if BASELINE in table.index:
        ax.axhline(len(rows) - 1, color="white", lw=3)
    ax.tick_params(axis="y", rotation=0)  # model names side by side would overlap when rotated
    ax.set(title=title, xlabel="split", ylabel="")
    return save(fig, path)


def bars(cells: pd.DataFrame, order: list[str], title: str, path: Path) -> Path:
    """Grouped bars per split, models in rank order, error bars = stderr; the baseline is a grey
    dashed line across each split's group, not a bar."""
    splits = [s for s in SPLIT_ORDER if s in set(cells["split"])]
    models = [m for m in order if m in set(cells["model"])]
    fig, ax = plt.subplots(figsize=(1.3 * len(splits) + 3, 4))
    ours = cells[cells["model"] != BASELINE]
    sns.barplot(ours, x="split", y="mean", hue="model", order=splits, hue_order=models, ax=ax)
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        sub = ours[ours["model"] == model].set_index("split").reindex(splits)
        x = [j - 0.4 + width * (i + 0.5) for j in range(len(splits))]
        ax.errorbar(x, sub["mean"], yerr=sub["stderr"], fmt="none", ecolor="black", capsize=2, lw=1)
    base = cells[cells["model"] == BASELINE].set_index("split").reindex(splits)["mean"]
    for j, value in enumerate(base):
        if not np.isnan(value):
            ax.hlines(value, j - 0.45, j + 0.45, label=BASELINE if j == 0 else "_nolegend_", **BASELINE_STYLE)
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
    ours = points[points["model"] != BASELINE]
    sns.scatterplot(ours, x="id", y="ood", hue="model", s=80, ax=ax)
    base = points[points["model"] == BASELINE]
    if len(base):
        ax.scatter(base["id"], base["ood"], marker="x", s=80, c="grey", label=BASELINE)
    lo = min(points["id"].min(), points["ood"].min()) - 2
    hi = max(points["id"].max(), points["ood"].max()) + 2
    ax.plot([lo, hi], [lo, hi], ls="--", c="grey", lw=1)
    ax.set(title=title, xlabel="in-distribution accuracy (%)", ylabel="OOD accuracy (%, mean of ood-*)")
    ax.legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    return save(fig, path)


def cd_diagram(ranks: RankStats, title: str, path: Path) -> tuple[Path, list[set[str]]]:
    """Demšar's critical-difference diagram (scikit-posthocs) of the Friedman blocks' average
    ranks, models joined by a bar when Nemenyi does not separate them; also those groups, read
    back from the drawn bars."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(ranks.ranks) + 1.5))
    drawn = sp.critical_difference_diagram(ranks.ranks, ranks.nemenyi, ax=ax, alpha=ALPHA, cd=ranks.critical_difference)
    by_rank: dict[float, set[str]] = {}
    for model, rank in ranks.ranks.items():
        by_rank.setdefault(round(float(rank), 9), set()).add(model)
    groups = [
        set().union(*(by_rank[round(float(x), 9)] for x in line.get_xdata()))
        for bar in drawn["crossbars"]
        for line in (bar if isinstance(bar, list) else [bar])
    ]
    ax.set_title(
        f"{title}\nFriedman over {len(ranks.seeds)} seeds: p = {ranks.pvalue:.3g}; average rank, 1 = best",
        fontsize="small",
    )
    return save(fig, path), groups


def improvement_plot(analysis: SplitStats, order: list[str], title: str, path: Path) -> Path:
    """Row model vs column model: the probability that a seed of the row beats a seed of the
    column (over the analysis' splits), with its 95% bootstrap interval."""
    value, text = improvement_matrix(analysis)
    models = [m for m in order if m in value.index]
    value, text = value.loc[models, models], text.loc[models, models]
    fig, ax = plt.subplots(figsize=(1.1 * len(models) + 3, 0.7 * len(models) + 1.8))
    sns.heatmap(
        value,
        annot=text.to_numpy(),
        fmt="",
        cmap="RdBu",
        vmin=0,
        vmax=1,
        annot_kws={"fontsize": 7},
        cbar_kws={"label": "P(row > column)"},
        ax=ax,
    )
    ax.set_title(f"{title}\nP(a seed of the row beats a seed of the column), {analysis.split}", fontsize="small")
    ax.set(xlabel="", ylabel="")
    ax.tick_params(axis="x", rotation=30)
    return save(fig, path)


def baseline_label(method: str) -> str:
    """What the per-net plots' `random_init` column holds under `method` (random init fine-tuned
    alike under ftK)."""

    k = parse_method(method)
    return "random init" if k is None else f"random init + {k} fine-tuning steps"


def net_scatter(
    nets: pd.DataFrame, order: list[str], title: str, path: Path, random_label: str = "random init"
) -> Path:
    """One split's nets, one point per net and model (mean over seeds): the GHN's accuracy against
    the same net's random-init accuracy, and in a second panel against its k-SGD-step accuracy
    where that baseline ran; the dashed diagonal is "as good as the baseline"."""
    means = nets.groupby(["model", "arch"], sort=False)[["acc", "random_init", "sgd"]].mean().reset_index()
    against = [c for c in ("random_init", "sgd") if means[c].notna().any()]
    fig, axes = plt.subplots(1, len(against), figsize=(5 * len(against) + 2, 4.5), squeeze=False)
    models = [m for m in order if m in set(means["model"])]
    for ax, column in zip(axes[0], against):
        points = means.dropna(subset=[column])
        sns.scatterplot(
            points, x=column, y="acc", hue="model", hue_order=models, s=30, ax=ax, legend=column == against[-1]
        )
        lo = min(points[column].min(), points["acc"].min()) - 2
        hi = max(points[column].max(), points["acc"].max()) + 2
        ax.plot([lo, hi], [lo, hi], ls="--", c="grey", lw=1)
        label = random_label if column == "random_init" else "k SGD steps from random init"
        ax.set(xlabel=f"{label} (%)", ylabel=f"predicted parameters, {metric_label(nets).lower()}")
    axes[0][-1].legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.suptitle(title, fontsize="medium")
    return save(fig, path)


def loss_frame(records: list[dict]) -> pd.DataFrame:
    """Training-loss curves of the records that keep one (training.curve): one row per (preset
    label, model, seed, step) with the median loss of the CURVE_EVERY steps ending there; each
    seed's GHN once, whichever splits its records cover."""

    rows, seen = [], set()
    for r in records:
        curve = (r.get("training") or {}).get("curve") or {}
        key = (r["preset"], model_label(r), r["seed"])
        if not curve.get("median_loss") or key in seen:
            continue
        seen.add(key)
        rows += [
            {"preset": key[0], "model": key[1], "seed": key[2], "step": (i + 1) * curve["every"], "loss": loss}
            for i, loss in enumerate(curve["median_loss"])
        ]
    return pd.DataFrame(rows, columns=["preset", "model", "seed", "step", "loss"])


def loss_curves(losses: pd.DataFrame, order: list[str], title: str, path: Path) -> Path:
    """Every seed's training-loss curve, one panel per model (where seeds part: a seed that sits
    at chance for hundreds of steps is visible at once)."""
    models = [m for m in order if m in set(losses["model"])]
    cols = min(4, len(models))
    rows = -(-len(models) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols + 1, 3 * rows), squeeze=False, sharex=True, sharey=True)
    for ax, model in zip(axes.flat, models):
        these = losses[losses["model"] == model]
        sns.lineplot(
            these,
            x="step",
            y="loss",
            hue="seed",
            units="seed",
            estimator=None,
            palette="viridis",
            legend=False,
            lw=1,
            ax=ax,
        )
        ax.set(
            title=f"{model} ({these['seed'].nunique()} seeds)", xlabel="training step", ylabel="median training loss"
        )
    for ax in list(axes.flat)[len(models) :]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: training loss of every seed", fontsize="medium")
    return save(fig, path)


def arm_curves(records: list[dict], path: Path) -> Path | None:
    """The variance study's curves: every seed's training loss, one panel per arm (rows, in the
    arms table's order) and model (columns), each line coloured by its seed's score (top-1 over
    the splits), the loss at chance dotted: where the seeds part, and whether the best seeds are
    the ones that leave chance first. None when no record keeps a curve."""
    seeds = seed_frame(records)[["arm", "model", "seed", "score", "what"]]
    curves = loss_frame(records).rename(columns={"preset": "arm"})
    frame = curves.merge(seeds, on=["arm", "model", "seed"]).drop(columns="arm").rename(columns={"what": "arm"})
    if frame.empty:
        return None
    arms, models = arm_order(frame["arm"].unique()), sorted(frame["model"].unique())
    fig, axes = plt.subplots(
        len(arms), len(models), figsize=(3.4 * len(models) + 2.4, 2.2 * len(arms)), squeeze=False, sharex=True,
        layout="constrained",
    )  # fmt: skip
    norm = plt.Normalize(frame["score"].min(), frame["score"].max())
    for (i, arm), (j, model) in ((a, m) for a in enumerate(arms) for m in enumerate(models)):
        ax, these = axes[i][j], frame[(frame["arm"] == arm) & (frame["model"] == model)]
        sns.lineplot(
            these, x="step", y="loss", hue="score", hue_norm=norm, units="seed", estimator=None, palette="viridis",
            legend=False, lw=1, ax=ax,
        )  # fmt: skip
        ax.axhline(chance_loss(records[0]["dataset"]), **{**BASELINE_STYLE, "ls": ":"})
        ax.text(0.97, 0.93, f"{these['seed'].nunique()} seeds", transform=ax.transAxes, ha="right", va="top")
        ax.set(title=model if i == 0 else "", xlabel="training step", ylabel=textwrap.fill(arm, 24) + "\nloss")
        ax.yaxis.label.set_fontsize("small")
        if j:
            ax.set_ylabel("loss")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=axes, label="seed's top-1 (%)", shrink=0.3)
    fig.suptitle("training loss of every seed, by arm (dotted: chance)", fontsize="medium")
    return save(fig, path, tight=False)


def finetune_frame(records: list[dict], metric: str) -> pd.DataFrame:
    """Fine-tuning curves of records evaluated with --finetune: one row per (model, seed, split,
    steps) with the mean accuracy over the fine-tuned nets: the GHN init (step 0: its 0-step
    accuracy) and random init (step 0: random init), the latter once per seed and split."""

    rows = []
    for r in records:
        tuned = r.get("finetune")
        if not tuned:
            continue
        m = r["metrics"]
        for model, zero, random in ((model_label(r), "ghn", False), (BASELINE, "random_init", True)):
            points = [(0, m.get(metric_key(zero, metric)))]
            points += [(k, m.get(metric_key(method(k, random), metric))) for k in tuned["steps"]]
            rows += [
                {"model": model, "seed": r["seed"], "split": r["split"], "steps": k, "acc": v["mean"]}
                for k, v in points
                if v is not None
            ]
    frame = pd.DataFrame(rows, columns=["model", "seed", "split", "steps", "acc"])
    return frame.groupby(["model", "seed", "split", "steps"], as_index=False)["acc"].mean()  # random init: once


def finetune_curves(curves: pd.DataFrame, order: list[str], title: str, path: Path) -> Path:
    """Accuracy against fine-tuning steps (symlog x: step 0 is the untrained init), one panel per
    split, one line per model and a grey dashed one for random init; bands: ±1.96 standard errors
    over the seeds."""
    splits = [s for s in SPLIT_ORDER if s in set(curves["split"])]
    fig, axes = plt.subplots(1, len(splits), figsize=(4.5 * len(splits) + 2, 4), squeeze=False, sharey=True)
    models = [m for m in order if m in set(curves["model"])]
    for ax, split in zip(axes[0], splits):
        these = curves[curves["split"] == split]
        sns.lineplot(
            these[these["model"] != BASELINE],
            x="steps",
            y="acc",
            hue="model",
            hue_order=models,
            errorbar=("se", 1.96),
            marker="o",
            ax=ax,
            legend=split == splits[-1],
        )
        base = these[these["model"] == BASELINE]
        sns.lineplot(
            base,
            x="steps",
            y="acc",
            errorbar=("se", 1.96),
            ax=ax,
            label=BASELINE if split == splits[-1] else None,
            **BASELINE_STYLE,
        )
        ax.set_xscale("symlog", linthresh=1)
        ticks = sorted(these["steps"].unique())
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set(title=split, xlabel="fine-tuning steps (0: the init itself)", ylabel="top-1 accuracy (%)")
    if axes[0][-1].get_legend() is not None:
        axes[0][-1].legend(fontsize="small", bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.suptitle(f"{title}: fine-tuning from predicted parameters and from random init", fontsize="medium")
    return save(fig, path)


def metric_label(cells: pd.DataFrame) -> str:
    """Axis label of the (one) metric of a leaderboard's cells."""
    return METRIC_LABELS[cells["metric"].iloc[0]]


def save(fig: plt.Figure, path: str | os.PathLike, tight: bool = True) -> Path:
    """Write `fig` as PNG (atomically: rendered to a temp name, then moved) and close it; `tight`:
    laid out tight first (not with a colorbar spanning the panels)."""

    path = Path(path)
    if tight:
        fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)
    return path
