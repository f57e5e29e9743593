"""Leaderboard tables: model x split, mean +- stderr over seeds, average rank; Markdown/HTML/CSV."""

from __future__ import annotations

import html
import math
import re

import pandas as pd

from bench.config.schema import catch_up_key, median_catch_up, model_label, parse_method, table_preset
from bench.config.schema import method as finetune_key
from deepnets1m.named import NAMED_SPLITS
from deepnets1m.splits import SPLIT_NAMES

BASELINE = "random init"
# table columns: a split, or for the named splits (ood-predefined, ood-torchvision) one per net
SPLIT_ORDER = [
    column
    for split in SPLIT_NAMES
    if split != "train"
    for column in ([f"{split}:{name}" for name in NAMED_SPLITS[split]] if split in NAMED_SPLITS else [split])
]


METRICS = ("top1", "top5")
METRIC_LABELS = {"top1": "top-1 accuracy (%)", "top5": "top-5 accuracy (%)"}


def headline_metric(dataset: str) -> str:
    """The metric a data set's table ranks by default, as the GHN papers report it: top-5 on
    ImageNet, top-1 elsewhere."""
    return "top5" if dataset == "imagenet" else "top1"


def metric_key(method: str, metric: str) -> str:
    """The record key of `method`'s `metric` (top-1 under the method's own name)."""
    return method if metric == "top1" else f"{method}_top5"


def record_columns(record: dict, method: str) -> list[tuple[str, dict]]:
    """(column, {mean, stderr}) of `method` in a record: its split's summary over the nets, or in
    the named splits one column `split:net` per net (never averaged: ResNet-50 and a ViT are no sample)."""
    split = record["split"]
    if split in NAMED_SPLITS:
        # one net: no standard error over nets (a cell gets one over seeds when there are several)
        return [
            (f"{split}:{row['arch']}", {"mean": row[method], "stderr": float("nan")})
            for row in record.get("archs", [])
            if row.get(method) is not None
        ]
    summary = record["metrics"].get(method)
    return [] if summary is None else [(split, summary)]


def record_metric(record: dict, metric: str) -> str:
    """`metric`, or for `auto` the record's data set's headline_metric."""
    return headline_metric(record["dataset"]) if metric == "auto" else metric


def record_models(record: dict, method: str, metric: str) -> list[tuple[str, str, dict]]:
    """(record key, model label, what was compared) of each model a record scores: `method`
    (by default the GHN) and, beside the GHN, the `random init` baseline on the same nets (beside
    a fine-tuned GHN init `ftK`, random init fine-tuned the same K steps)."""
    chosen = record_metric(record, metric)
    core = record.get("core") or {}
    out = [
        (
            metric_key(method, chosen),
            model_label(record),
            {"view": core.get("view", ""), "core_params": core.get("params_without_embeddings", core.get("params"))},
        )
    ]
    k = parse_method(method)
    if method == "ghn" or k is not None:  # beside a fine-tuned GHN init: random init fine-tuned alike
        base = "random_init" if k is None else finetune_key(k, random=True)
        out.append((metric_key(base, chosen), BASELINE, {"view": "", "core_params": None}))
    return out


def table_key(record: dict, metric: str) -> tuple[str, str, str]:
    """(data set, preset, metric) of the table a record belongs to (see record_common)."""
    common = record_common(record, metric)
    return common["dataset"], common["preset"], common["metric"]


def record_common(record: dict, metric: str) -> dict:
    """The table a record belongs to: data set, preset (with protocol), metric; and its seed."""
    return {
        "dataset": record["dataset"],
        "preset": table_preset(record),
        "metric": record_metric(record, metric),
        "seed": record["seed"],
    }


def runs_frame(records: list[dict], method: str = "ghn", metric: str = "auto") -> pd.DataFrame:
    """One row per run and column (see record_columns): its model (model_label), seed, and the
    mean and stderr over architectures of `method`'s `metric` (top1, top5, or auto: each data
    set's headline_metric), the core's graph view and parameter count (without embedding
    tables: protocol v1's budget); also `random init` rows (the baseline on the same nets)."""
    rows = []
    for r in records:
        common = {**record_common(r, metric), "imported": False}
        for key, model, what in record_models(r, method, metric):
            for column, m in record_columns(r, key):
                rows.append(
                    {**common, **what, "split": column, "model": model, "mean": m["mean"], "stderr": m["stderr"]}
                )
    columns = [
        "dataset",
        "preset",
        "metric",
        "split",
        "seed",
        "model",
        "mean",
        "stderr",
        "imported",
        "view",
        "core_params",
    ]
    return pd.DataFrame(rows, columns=columns)


def arch_frame(records: list[dict], method: str = "ghn", metric: str = "auto") -> pd.DataFrame:
    """One row per run and architecture of the sampled splits (the named ones are single nets,
    one column each, and pair with nothing): the accuracy `acc` each model got on it, for the
    paired statistics (leaderboard.stats). The baseline appears once per split, seed and net."""
    rows = [
        {**record_common(r, metric), "split": r["split"], "model": model, "arch": row["arch"], "acc": row[key]}
        for r in records
        if r["split"] not in NAMED_SPLITS
        for key, model, _ in record_models(r, method, metric)
        for row in r.get("archs", [])
        if row.get(key) is not None
    ]
    frame = pd.DataFrame(rows, columns=["dataset", "preset", "metric", "seed", "split", "model", "arch", "acc"])
    return frame.drop_duplicates(["dataset", "preset", "metric", "split", "seed", "model", "arch"])


NET_COLUMNS = [
    "dataset",
    "preset",
    "metric",
    "seed",
    "split",
    "model",
    "arch",
    "params",
    "acc",
    "random_init",
    "sgd",
    "predict_ms",
]


def net_frame(records: list[dict], method: str = "ghn", metric: str = "auto") -> pd.DataFrame:
    """One row per run and evaluated net, every split (the named ones too): the model's accuracy
    `acc` under `method`, the same net's random-init and k-SGD-step accuracies (NaN where not
    run; under a fine-tuning method ftK, `random_init` is random init after the same K steps and
    `sgd` is NaN), its parameter count and the GHN's prediction time, for per-architecture detail."""
    k = parse_method(method)
    base, sgd = ("random_init", "sgd") if k is None else (finetune_key(k, random=True), None)
    rows = []
    for r in records:
        model, chosen = model_label(r), record_metric(r, metric)
        for row in r.get("archs", []):
            acc = row.get(metric_key(method, chosen))
            if acc is None:
                continue
            rows.append(
                {
                    **record_common(r, metric),
                    "split": r["split"],
                    "model": model,
                    "arch": row["arch"],
                    "params": row.get("params"),
                    "acc": acc,
                    "random_init": row.get(metric_key(base, chosen)),
                    "sgd": None if sgd is None else row.get(metric_key(sgd, chosen)),
                    "predict_ms": row.get("predict_ms"),
                }
            )
    return pd.DataFrame(rows, columns=NET_COLUMNS).astype({"random_init": float, "sgd": float, "predict_ms": float})


def cells(runs: pd.DataFrame) -> pd.DataFrame:
    """model x split cells: mean over seeds, its stderr (over seeds when there are several,
    else the single run's stderr over architectures), and the number of seeds. The random-init
    baseline pools all runs on the same split and seed (it does not depend on the GNN)."""
    runs = runs.drop_duplicates(["dataset", "preset", "metric", "split", "seed", "model"])

    def reduce(g: pd.DataFrame) -> pd.Series:
        n = len(g)
        stderr = g["mean"].std(ddof=1) / math.sqrt(n) if n > 1 else g["stderr"].iloc[0]
        return pd.Series(
            {
                "mean": g["mean"].mean(),
                "stderr": stderr,
                "seeds": n,
                "imported": bool(g["imported"].any()),
                "view": g["view"].iloc[0],
                "core_params": g["core_params"].iloc[0],
            }
        )

    keys = ["dataset", "preset", "metric", "model", "split"]
    columns = ["mean", "stderr", "imported", "view", "core_params"]
    return runs.groupby(keys, sort=False)[columns].apply(reduce).reset_index()


def average_rank(table: pd.DataFrame) -> pd.Series:
    """Per model, its rank (1 = best, ties averaged) on each split every model has, averaged
    (a model scored on fewer splits is not ranked on an easier set of them); over every split a
    model has when no split is common to all."""
    common = table.columns[table.notna().all(axis=0)]
    return table[common if len(common) else table.columns].rank(axis=0, ascending=False, method="average").mean(axis=1)


def pivot(cell_frame: pd.DataFrame, value: str = "mean") -> pd.DataFrame:
    """model x split table of one cell column, splits in the canonical order."""
    table = cell_frame.pivot(index="model", columns="split", values=value)
    return table[[s for s in SPLIT_ORDER if s in table.columns] + [s for s in table.columns if s not in SPLIT_ORDER]]


def best_cells(cell_frame: pd.DataFrame) -> pd.DataFrame:
    """model x split booleans: whether the cell is in its split's best group (False where unmarked)."""
    flags = cell_frame["best_group"].fillna(False).astype(bool) if "best_group" in cell_frame else False
    return pivot(cell_frame.assign(best_group=flags), "best_group").astype("boolean").fillna(False).astype(bool)


def imported_models(cell_frame: pd.DataFrame) -> pd.Series:
    """Per model, whether its rows are imported (published figures, not our runs)."""
    return cell_frame.groupby("model")["imported"].any().astype(bool)


def leaderboard(cell_frame: pd.DataFrame) -> pd.DataFrame:
    """model x split text cells "mean ± stderr" (in **bold** when the cell's `best_group` is
    True) plus `avg rank`, best average rank first; one data set and preset (imported rows
    included but unranked, listed last; baseline ranked like any model)."""
    means, errs, seeds = pivot(cell_frame), pivot(cell_frame, "stderr"), pivot(cell_frame, "seeds")
    best, imported = best_cells(cell_frame), imported_models(cell_frame).reindex(means.index)
    rank = average_rank(means[~imported]).reindex(means.index)  # published rows are shown, never ranked
    text = pd.DataFrame(index=means.index, columns=means.columns, dtype=object)
    for model in means.index:
        for split in means.columns:
            m = means.loc[model, split]
            err = errs.loc[model, split]  # none for a single net of a published table
            cell = "" if pd.isna(m) else f"{m:.1f}" + ("" if pd.isna(err) else f" ± {err:.1f}")
            bold = cell and best.loc[model, split]
            text.loc[model, split] = f"**{cell}**" if bold else cell
    partial = means.isna().any(axis=1)  # ranked on the common splits only: marked
    text["avg rank"] = [("" if pd.isna(r) else f"{r:.2f}" + ("*" if partial[m] else "")) for m, r in rank.items()]
    text["seeds"] = seeds.max(axis=1).map(lambda n: "" if pd.isna(n) else str(int(n)))
    core = cell_frame.groupby("model")[["view", "core_params"]].first()  # what was compared
    text["view"] = core["view"].reindex(text.index).fillna("")
    text["core params"] = core["core_params"].reindex(text.index).map(lambda n: "" if pd.isna(n) else f"{int(n):,}")
    return text.loc[rank.sort_values(kind="stable").index]


def catch_up_column(records: list[dict], k: int) -> dict[str, str]:
    """Per model, the median over its fine-tuned nets (all seeds and splits) of the steps random
    init needs to reach the GHN init's accuracy after `k` fine-tuning steps (`> K` when random
    init does not within the largest K fine-tuned): ftK tables' "random init catches up" column."""
    steps: dict[str, list[int | None]] = {}
    largest: dict[str, int] = {}
    for r in records:
        if not r.get("finetune"):
            continue
        model = model_label(r)
        largest[model] = max(r["finetune"]["steps"])
        steps.setdefault(model, []).extend(row[catch_up_key(k)] for row in r["archs"] if catch_up_key(k) in row)
    out = {}
    for model, values in steps.items():
        if values:
            median = median_catch_up(values)
            out[model] = f"> {largest[model]}" if median is None else f"{median:g}"
    return out


def groups(cell_frame: pd.DataFrame) -> list[tuple[str, str, str, pd.DataFrame]]:
    """(dataset, preset, metric, cells) of each leaderboard present (tables never mix them)."""
    return [(d, p, m, g) for (d, p, m), g in cell_frame.groupby(["dataset", "preset", "metric"], sort=True)]


def to_markdown(table: pd.DataFrame, title: str) -> str:
    """A README-ready Markdown table (pandas' to_markdown needs tabulate; this is all it takes)."""
    header = ["model", *table.columns]
    lines = [
        f"### {title}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + [":-:"] * len(table.columns)) + "|",
    ]
    for model, row in table.iterrows():
        lines.append("| " + " | ".join([str(model), *map(str, row.tolist())]) + " |")
    return "\n".join(lines) + "\n"


def to_html(table: pd.DataFrame, title: str) -> str:
    """A standalone HTML section: heading and the table (Markdown's **bold** as <b>)."""
    cells = table.map(lambda v: re.sub(r"\*\*(.*)\*\*", r"<b>\1</b>", html.escape(str(v))))
    cells.index = [html.escape(str(m)) for m in cells.index]
    return f"<h3>{html.escape(title)}</h3>\n" + cells.to_html(escape=False, border=0, classes="leaderboard") + "\n"


def tidy(cell_frame: pd.DataFrame) -> pd.DataFrame:
    """The cells in long form for CSV export: dataset, preset, metric, model, split, mean, stderr,
    the 95% CI of the mean, the seeds and their SD, best_group, imported, the core's view and
    parameters, and the split's resolution (the difference it detects at 80% power, the seeds a
    3- and a 4-point difference would need)."""
    extra = ("ci_low", "ci_high", "seed_sd", "best_group", "detectable", "seeds_for_3", "seeds_for_4")
    frame = cell_frame.reindex(columns=[*cell_frame.columns, *(c for c in extra if c not in cell_frame)])
    return frame.assign(best_group=frame["best_group"].fillna(False).astype(bool))[
        [
            "dataset",
            "preset",
            "metric",
            "model",
            "split",
            "mean",
            "stderr",
            "ci_low",
            "ci_high",
            "seeds",
            "seed_sd",
            "best_group",
            "imported",
            "view",
            "core_params",
            "detectable",
            "seeds_for_3",
            "seeds_for_4",
        ]
    ]
