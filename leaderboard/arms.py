"""Training recipes compared as arms (`bench leaderboard --arms`): a named preset and its
overridden variants, per model and pooled over the models, by the variance study's rule
(docs/variance-study.md): seed mean and spread, outliers, collapses, cost, and each arm against
the plain preset.

A seed's score is its GHN top-1 averaged over the splits every seed of the table has; the seed
is the unit of replication.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bench.config.presets import base_fields
from bench.config.schema import chance_loss, model_label

ALPHA = 0.05
FULL_SEEDS = 8  # seeds a model an arm needs before the rule decides
EARLY_SEEDS = 4  # after this many, an arm clearly worse may stop
EARLY_DROP = 5.0  # points below plain's pooled mean that stop an arm early
EARLY_COLLAPSES = 2  # collapsed runs that stop an arm early
OUTLIER_MADS = 3.0  # a seed this many MADs from its arm's median is an outlier
SD_TIE = 0.1  # pooled seed SDs this close tie, and the cheaper arm is adopted
PLATEAU_DROP = 0.05  # a run has left its plateau at chance once its loss is 5% below ln(classes)


def changed_fields(label: str, fields: dict) -> str:
    """What a preset label stands for: the fields that differ from its named preset, as text
    ("decoder init ghn3"; the named preset itself: "plain"); the label itself where the named
    preset is unknown."""
    ghn = fields.get("ghn", "ghn2")
    base = None
    if fields:
        base = base_fields(label, ghn) or base_fields(label.rsplit("-", 1)[0], ghn)
    if base is None:
        return label
    changed = {
        k: v
        for k, v in fields.items()
        if k in base
        and k not in ("ghn", "view")
        and not isinstance(v, dict)
        and base[k] != (tuple(v) if isinstance(v, list) else v)
    }
    return fields_text(changed) or "plain"


def fields_text(fields: dict) -> str:
    """Changed preset fields as an arm's name lists them: "decoder init ghn3, lr 0.001" (by field)."""
    parts = (
        f"{k.replace('_', ' ')} {','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in sorted(fields.items())
    )
    return ", ".join(parts)


def training_minutes(record: dict) -> float:
    """A run's training cost in minutes: its CPU time where the record has it (other work on the
    machine does not inflate it), else its wall-clock time."""
    cpu = (record.get("training") or {}).get("cpu_seconds")
    return (cpu if cpu is not None else record.get("train_seconds") or math.nan) / 60


def plateau_end(training: dict, chance: float) -> float:
    """The step by which a run's loss curve leaves its plateau at `chance` (the loss of constant
    logits): the end of its first curve point PLATEAU_DROP below it; inf when it never does, NaN
    without a curve."""
    curve = (training.get("curve") or {}).get("median_loss") or []
    if not curve:
        return math.nan
    below = (1 - PLATEAU_DROP) * chance
    return next(((i + 1) * training["curve"]["every"] for i, loss in enumerate(curve) if loss < below), math.inf)


def seed_frame(records: list[dict]) -> pd.DataFrame:
    """One row per (arm, model, seed): the score (GHN top-1 averaged over the splits every seed
    has), collapsed (any of its records), training minutes, the step its plateau at chance ends."""
    rows = [
        {
            "arm": r["preset"],
            "model": model_label(r),
            "seed": r["seed"],
            "split": r["split"],
            "top1": r["metrics"]["ghn"]["mean"],
            "collapsed": bool((r.get("training") or {}).get("collapsed")),
            "minutes": training_minutes(r),
            "plateau": plateau_end(r.get("training") or {}, chance_loss(r["dataset"])),
            "what": changed_fields(r["preset"], r.get("preset_fields") or {}),
        }
        for r in records
    ]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    splits = sorted(frame["split"].unique())
    whole = frame.groupby(["arm", "model", "seed"]).filter(lambda g: sorted(g["split"]) == splits)
    return whole.groupby(["arm", "model", "seed"], as_index=False).agg(
        score=("top1", "mean"),
        collapsed=("collapsed", "any"),
        minutes=("minutes", "first"),
        plateau=("plateau", "first"),
        what=("what", "first"),
    )


@dataclass
class Arm:
    """One arm's seeds per model, and its pooled statistics."""

    name: str
    what: str
    seeds: dict[str, np.ndarray]  # model -> scores
    collapsed: int
    minutes: float
    plateaus: np.ndarray  # every run's plateau_end (NaN: no curve)

    @property
    def fewest(self) -> int:
        """The fewest seeds of any model."""
        return min(len(s) for s in self.seeds.values())

    @property
    def mean(self) -> float:
        """The mean over models of the seed means."""
        return float(np.mean([s.mean() for s in self.seeds.values()]))

    def pooled_sd(self) -> tuple[float, float, float]:
        """The seed SD pooled over the models (root mean variance) and its 95% chi-square interval."""
        dfs = [len(s) - 1 for s in self.seeds.values() if len(s) > 1]
        if not dfs:
            return (math.nan,) * 3
        var = float(np.mean([s.var(ddof=1) for s in self.seeds.values() if len(s) > 1]))
        df = sum(dfs)
        lo, hi = (math.sqrt(var * df / stats.chi2.ppf(q, df)) for q in (1 - ALPHA / 2, ALPHA / 2))
        return math.sqrt(var), lo, hi

    def outliers(self) -> int:
        """Seeds more than OUTLIER_MADS scaled MADs from their model's median."""
        count = 0
        for s in self.seeds.values():
            mad = stats.median_abs_deviation(s, scale="normal")
            count += int(np.sum(np.abs(s - np.median(s)) > OUTLIER_MADS * mad)) if mad > 0 else 0
        return count

    def deviations(self) -> np.ndarray:
        """Every seed's absolute deviation from its model's median (Brown-Forsythe's variable)."""
        return np.concatenate([np.abs(s - np.median(s)) for s in self.seeds.values()])


def against(arm: Arm, plain: Arm) -> tuple[float, float, float]:
    """(mean difference arm - plain over the models, one-sided p of arm below plain (Welch per
    model, variances added, Welch-Satterthwaite df), one-sided Brown-Forsythe p of arm's spread
    below plain's)."""
    models = [m for m in arm.seeds if m in plain.seeds and len(arm.seeds[m]) > 1 and len(plain.seeds[m]) > 1]
    if not models:
        return math.nan, math.nan, math.nan
    diff = float(np.mean([arm.seeds[m].mean() - plain.seeds[m].mean() for m in models]))
    parts = [(s.var(ddof=1) / len(s), len(s) - 1) for m in models for s in (arm.seeds[m], plain.seeds[m])]
    var = sum(v for v, _ in parts) / len(models) ** 2
    df = sum(v for v, _ in parts) ** 2 / sum(v**2 / d for v, d in parts) if var > 0 else math.inf
    p_lower = float(stats.t.cdf(diff / math.sqrt(var), df)) if var > 0 else float(diff < 0)
    a, b = arm.deviations(), plain.deviations()
    with warnings.catch_warnings():  # deviations all equal (two seeds a model): scipy warns, p is what it is
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_ind(a, b, equal_var=True, alternative="less")  # one-way ANOVA of two groups, one-sided
    return diff, p_lower, float(test.pvalue)


def arms_of(records: list[dict]) -> dict[str, Arm]:
    """The arms of `records` by preset label."""
    seeds = seed_frame(records)
    out = {}
    for name, g in seeds.groupby("arm") if len(seeds) else ():
        out[name] = Arm(
            name,
            g["what"].iloc[0],
            {m: gm["score"].to_numpy() for m, gm in g.groupby("model")},
            int(g["collapsed"].sum()),
            float(g["minutes"].median()),
            g["plateau"].to_numpy(dtype=float),
        )
    return out


def seed_cell(scores: np.ndarray) -> str:
    """A model's cell: seeds, mean and seed SD ("" without seeds)."""
    if len(scores) == 0:
        return ""
    return f"{len(scores)}: {scores.mean():.1f}" + (f" ± {scores.std(ddof=1):.1f}" if len(scores) > 1 else "")


def plateau_cell(plateaus: np.ndarray) -> str:
    """An arm's plateau cell: the median and the latest step its runs leave chance by ("never"
    for runs that do not; "" without curves)."""
    known = plateaus[~np.isnan(plateaus)]
    if len(known) == 0:
        return ""
    return ", ".join("never" if math.isinf(v) else f"{v:.0f}" for v in (np.median(known), known.max()))


def arm_table(records: list[dict]) -> str:
    """The arms of `records` as a Markdown table with the rule's decision under it."""
    arms = arms_of(records)
    plain = plain_arm(arms)
    if plain is None:
        raise ValueError("--arms: no records of the plain preset among these: it is what every arm is compared with")
    models = sorted({m for a in arms.values() for m in a.seeds})
    head = [
        "arm",
        *[f"{m} (seeds: mean ± SD)" for m in models],
        "pooled SD [95% CI]",
        "MAD",
        "outliers",
        "collapsed",
        "plateau ends (step: median, latest)",
        "vs plain: mean, p lower",
        "spread p lower",
        "min a run (CPU, else wall)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + ":-:|" * (len(head) - 1)]
    by_what = {a.what: a for a in arms.values()}
    for arm in [by_what[what] for what in arm_order(by_what)]:
        sd, lo, hi = arm.pooled_sd()
        diff, p_mean, p_spread = against(arm, plain) if arm is not plain else (math.nan,) * 3
        cells = [seed_cell(arm.seeds.get(m, np.array([]))) for m in models]
        mad = float(np.mean([stats.median_abs_deviation(s, scale="normal") for s in arm.seeds.values()]))
        vs = "" if arm is plain else f"{diff:+.1f}, {p_mean:.2f}"
        lines.append(
            "| "
            + " | ".join(
                [
                    arm.what,
                    *cells,
                    f"{sd:.1f} [{lo:.1f}, {hi:.1f}]",
                    f"{mad:.1f}",
                    str(arm.outliers()),
                    str(arm.collapsed),
                    plateau_cell(arm.plateaus),
                    vs,
                    "" if arm is plain else f"{p_spread:.2f}",
                    f"{arm.minutes:.1f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n\n" + decision(arms, plain) + "\n"


def arm_order(names: Iterable[str]) -> list[str]:
    """Arms' names in the table's order: plain first, then by name."""
    return sorted(names, key=lambda what: (what != "plain", what))


def plain_arm(arms: dict[str, Arm]) -> Arm | None:
    """The arm every other is compared with: the preset as it stands (None when it has no records)."""
    return next((a for a in arms.values() if a.what == "plain"), None)


def stopped_arms(arms: dict[str, Arm], plain: Arm) -> list[Arm]:
    """The arms the rule stops early: EARLY_SEEDS seeds a model or more, and a mean more than
    EARLY_DROP points below plain's or EARLY_COLLAPSES collapsed runs."""
    return [
        a
        for a in arms.values()
        if a is not plain
        and a.fewest >= EARLY_SEEDS
        and (against(a, plain)[0] < -EARLY_DROP or a.collapsed >= EARLY_COLLAPSES)
    ]


def helping_arms(arms: dict[str, Arm], plain: Arm) -> list[Arm]:
    """The arms that help (the rule's step 5): FULL_SEEDS seeds a model, a pooled seed SD below
    plain's and a mean not significantly below plain's; lowest SD first."""
    sd = plain.pooled_sd()[0]
    found = [
        a
        for a in arms.values()
        if a is not plain and a.fewest >= FULL_SEEDS and a.pooled_sd()[0] < sd and not against(a, plain)[1] < ALPHA
    ]
    return sorted(found, key=lambda a: a.pooled_sd()[0])


def fields_of(what: str) -> dict[str, str]:
    """An arm's changed fields as its name lists them ("lr 0.001, decoder init ghn3"): field -> value."""
    if what == "plain":
        return {}
    return {part.rsplit(" ", 1)[0].replace(" ", "_"): part.rsplit(" ", 1)[1] for part in what.split(", ")}


def combination(arms: dict[str, Arm], plain: Arm) -> list[Arm]:
    """The arms the rule's step 5 combines into one more arm: the helping arms, lowest SD first,
    each joining unless it sets a field an arm already joined sets otherwise (two learning
    rates cannot both hold); [] when fewer than two join."""
    joined: list[Arm] = []
    fields: dict[str, str] = {}
    for arm in helping_arms(arms, plain):
        own = fields_of(arm.what)
        if all(fields.get(k, v) == v for k, v in own.items()):
            joined.append(arm)
            fields.update(own)
    return joined if len(joined) > 1 else []


def combined_name(joined: list[Arm]) -> str:
    """How the arms table names the combination of `joined` (as changed_fields names an arm)."""
    return fields_text({k: v for arm in joined for k, v in fields_of(arm.what).items()})


def pending_combination(arms: dict[str, Arm], plain: Arm) -> str | None:
    """The name of the combination the rule still has to run (step 5), None when there is none
    to run: fewer than two arms help, or its arm is among `arms`."""
    joined = combination(arms, plain)
    if not joined:
        return None
    name = combined_name(joined)
    return None if any(a.what == name for a in arms.values()) else name


def adopted(arms: dict[str, Arm], plain: Arm) -> Arm | None:
    """The arm the rule adopts, once every arm it has not stopped has FULL_SEEDS seeds a model
    and the combination of the helping arms (step 5) has run (None before): the lowest pooled
    seed SD among plain and the arms whose mean is not significantly below plain's; of the arms
    within SD_TIE of that lowest SD, the cheapest (CPU minutes a run)."""
    running = [a for a in arms.values() if a not in stopped_arms(arms, plain)]
    if any(a.fewest < FULL_SEEDS for a in running) or pending_combination(arms, plain):
        return None
    eligible = [a for a in running if a is plain or not against(a, plain)[1] < ALPHA]
    lowest = min(a.pooled_sd()[0] for a in eligible)
    return min((a for a in eligible if a.pooled_sd()[0] <= lowest + SD_TIE), key=lambda a: a.minutes)


def decision(arms: dict[str, Arm], plain: Arm) -> str:
    """What the rule says now: the arms that may stop early, and the adopted arm once every arm
    still running has FULL_SEEDS seeds a model."""
    stopped = stopped_arms(arms, plain)
    running = [a for a in arms.values() if a not in stopped]
    notes = []
    if stopped:
        notes.append(
            "Stopped early (4+ seeds, mean > 5 points below plain or 2+ collapsed runs): "
            + ", ".join(a.what for a in stopped)
            + "."
        )
    short = [a for a in running if a.fewest < FULL_SEEDS]
    if short:
        notes.append(
            f"Decision pending: {', '.join(f'{a.what} ({a.fewest})' for a in short)} have fewer than "
            f"{FULL_SEEDS} seeds a model."
        )
        return " ".join(notes)
    combined = pending_combination(arms, plain)
    if combined:
        notes.append(
            f"Decision pending: the helping arms' combination ({combined}) runs first, {FULL_SEEDS} seeds a "
            "model (the rule's step 5)."
        )
        return " ".join(notes)
    best = adopted(arms, plain)
    assert best is not None  # every running arm has its seeds
    notes.append(
        f"Decision by the rule: {best.what} (pooled seed SD {best.pooled_sd()[0]:.1f}: the lowest, to within "
        f"{SD_TIE} and then the cheapest, among the arms whose mean is not significantly below plain's)."
    )
    return " ".join(notes)
