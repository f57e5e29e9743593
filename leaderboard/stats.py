"""Statistics that fit the design of the runs: seeds are the replicates, nets are crossed with them.

A record is one training run (a seed) of one model, scored on a split's fixed nets. A model's
score in a seed is its accuracy averaged over the nets; its seeds are independent replicates
(measured: the cross-core correlation of seed scores is ~0 at `tiny`, docs/leaderboard.md), and
their spread may differ between models. The nets are shared by every model, so their main
effect cancels in a difference, but a model x net interaction does not: it enters a difference
as its own variance term. For models a and b with S_a and S_b seeds on N common nets:

    diff = mean_a - mean_b,   SE^2 = s_a^2 / S_a + s_b^2 / S_b + s_d^2 / N

(s_a^2: the variance of a's seed scores; s_d^2: the variance over nets of the per-net
difference, each averaged over the seeds), with Welch-Satterthwaite degrees of freedom. Pairs
are compared as in Games-Howell (the studentized range of k models at those degrees of freedom,
which controls the family-wise error over all pairs without assuming equal variances); the
95% interval of a difference is the t-interval diff +- t(df) SE. The best group is the best
model by mean and every model not significantly worse; it is marked only with MIN_SEEDS seeds
in every cell. Across splits, one analysis with split as a fixed effect (each split weighted
equally, the interaction variance taken within splits) is the headline. Each pair also gets
the probability of improvement P(X > Y) (a seed of X beats a seed of Y; rliable's statistic)
with a percentile-bootstrap interval over the seeds. Friedman/Nemenyi over seed blocks stays
for the critical-difference diagram, drawn only with CD_MIN_SEEDS seeds.

Every procedure is checked by simulation with known answers (tests/leaderboard/test_stats.py).
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats

from .table import BASELINE

ALPHA = 0.05  # significance level of every test and 1 - the CIs' level
MIN_SEEDS = 5  # fewer seeds in some cell: the table marks no best group
CD_MIN_SEEDS = 10  # fewer seed blocks: no critical-difference diagram
POWER = 0.8  # of the resolution a table states
N_RESAMPLES = 500  # bootstrap resamples of an interval of P(X > Y)


@dataclass
class Scores:
    """One model's accuracies on the nets every run has: seeds x nets, and each net's group (split)."""

    model: str
    seeds: list[int]
    values: np.ndarray  # [S, N]
    groups: np.ndarray  # [N] group label of each net

    def seed_scores(self) -> np.ndarray:
        """Each seed's score: the mean over each group's nets, averaged over the groups."""
        return group_weights(self.groups) @ self.values.T


def group_weights(groups: np.ndarray) -> np.ndarray:
    """Weights over nets that give every group (split) the same total weight 1 / groups."""
    labels, counts = np.unique(groups, return_counts=True)
    per_label = dict(zip(labels, 1.0 / (len(labels) * counts)))
    return np.array([per_label[g] for g in groups])


def interaction_variance(per_net_diff: np.ndarray, groups: np.ndarray) -> tuple[float, float]:
    """The variance of the weighted mean of a per-net difference that comes from the nets (the
    model x net interaction, within each group), and its degrees of freedom."""
    labels = np.unique(groups)
    var, df = 0.0, 0.0
    for g in labels:
        d = per_net_diff[groups == g]
        if len(d) > 1:
            var += np.var(d, ddof=1) / len(d) / len(labels) ** 2
            df += len(d) - 1
    return float(var), max(df, 1.0)


MAX_DF = 200  # degrees of freedom beyond which the critical value is taken at MAX_DF


@functools.lru_cache(maxsize=10_000)
def critical_t(k: int, df: int) -> float:
    """Games-Howell's critical |diff| / SE for k models at `df` degrees of freedom (the studentized
    range's 1 - ALPHA quantile over sqrt 2). Callers round df down to an integer (at most MAX_DF),
    erring towards fewer rejections, so that each value is computed once (scipy's quantile takes
    ~0.1 s)."""
    return float(stats.studentized_range.ppf(1 - ALPHA, max(k, 2), df) / math.sqrt(2))


@dataclass(frozen=True)
class PairComparison:
    """One pair of models compared: the difference of their (trimmed) seed means a - b, its
    standard error, degrees of freedom and 95% t-interval, the p-value, whether the table's
    procedure calls them different, the seeds each has, and P(a > b) over their seeds with its
    bootstrap interval (NaN where not computed)."""

    a: str
    b: str
    diff: float
    seeds_a: int
    seeds_b: int
    p_improve: float
    se: float = math.nan
    df: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    differs: bool = False
    p_improve_low: float = math.nan
    p_improve_high: float = math.nan


# a pairs table's columns, in the order tables and CSV files show them
PAIR_COLUMNS = ["a", "b", "diff", "se", "df", "ci_low", "ci_high", "p", "differs", "seeds_a", "seeds_b", "p_improve",
                "p_improve_low", "p_improve_high"]  # fmt: skip


def compare_pair(a: Scores, b: Scores, k: int, details: bool = True) -> PairComparison:
    """diff, SE, df, t-interval, whether the pair differs (Games-Howell over k models), P(a > b);
    with `details` also the exact p-value and P(a > b)'s bootstrap interval (the decision is
    the same without them: simulations skip them)."""
    za, zb = a.seed_scores(), b.seed_scores()
    diff = float(za.mean() - zb.mean())
    pair = PairComparison(a.model, b.model, diff, len(za), len(zb), probability_of_improvement(za, zb))
    if len(za) < 2 or len(zb) < 2:
        return pair
    v1, v2 = za.var(ddof=1) / len(za), zb.var(ddof=1) / len(zb)
    v3, df3 = interaction_variance(a.values.mean(0) - b.values.mean(0), a.groups)
    se2 = v1 + v2 + v3
    if se2 <= 0:  # no spread anywhere: equal models read as no difference
        return replace(pair, se=0.0, ci_low=diff, ci_high=diff, p=1.0 if diff == 0 else 0.0, differs=diff != 0,
                       **improvement_ci(za, zb, details))  # fmt: skip
    df = se2**2 / (v1**2 / (len(za) - 1) + v2**2 / (len(zb) - 1) + v3**2 / df3)
    se = math.sqrt(se2)
    half = stats.t.ppf(1 - ALPHA / 2, df) * se
    differs = abs(diff) / se > critical_t(k, min(max(int(df), 1), MAX_DF))
    p = float(stats.studentized_range.sf(abs(diff) / se * math.sqrt(2), max(k, 2), df)) if details else math.nan
    return replace(pair, se=se, df=df, ci_low=diff - half, ci_high=diff + half, p=p, differs=bool(differs),
                   **improvement_ci(za, zb, details))  # fmt: skip


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) over every pair of a seed of x and a seed of y, ties counting half."""
    return float(((x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])).mean())


def improvement_ci(x: np.ndarray, y: np.ndarray, wanted: bool = True, seed: int = 0) -> dict:
    """95% percentile-bootstrap interval of P(X > Y), resampling each model's seeds (as rliable);
    NaN when not `wanted`."""
    if not wanted:
        return {"p_improve_low": math.nan, "p_improve_high": math.nan}
    if np.ptp(np.concatenate([x, y])) == 0:
        return {"p_improve_low": 0.5, "p_improve_high": 0.5}

    def statistic(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return ((a[..., :, None] > b[..., None, :]) + 0.5 * (a[..., :, None] == b[..., None, :])).mean(axis=(-2, -1))

    res = stats.bootstrap(
        (x, y),
        statistic,
        vectorized=True,
        n_resamples=N_RESAMPLES,
        method="percentile",
        confidence_level=1 - ALPHA,
        rng=np.random.default_rng(seed),
    )
    return {"p_improve_low": float(res.confidence_interval.low), "p_improve_high": float(res.confidence_interval.high)}


METHODS = ("welch", "trimmed")  # the pairwise comparisons a table can use
TRIM = 0.2  # the trimmed comparison's fraction cut from each end of a model's seed scores


def trimmed_summary(z: np.ndarray) -> tuple[float, float, int]:
    """A model's 20%-trimmed mean of its seed scores, the squared standard error of it (Yuen's:
    the winsorized variance over h (h - 1), h the seeds kept) and h."""
    n = len(z)
    g = int(math.floor(TRIM * n))
    h = n - 2 * g
    ordered = np.sort(z)
    kept = ordered[g : n - g]
    winsorized = np.clip(ordered, kept[0], kept[-1])
    return float(kept.mean()), float((n - 1) * winsorized.var(ddof=1) / (h * (h - 1))) if h > 1 else math.nan, h


def compare_trimmed_pair(a: Scores, b: Scores) -> PairComparison:
    """Yuen-Welch on the 20%-trimmed means of the seed scores, with the model x net interaction
    variance added to the squared SE (as compare_pair); its two-sided p, before any correction
    (`differs` is set by Holm's procedure over every pair: compare)."""
    za, zb = a.seed_scores(), b.seed_scores()
    (ma, va, ha), (mb, vb, hb) = trimmed_summary(za), trimmed_summary(zb)
    diff = ma - mb
    pair = PairComparison(a.model, b.model, diff, len(za), len(zb), probability_of_improvement(za, zb))
    if ha < 2 or hb < 2:
        return pair
    v3, df3 = interaction_variance(a.values.mean(0) - b.values.mean(0), a.groups)
    se2 = va + vb + v3
    if se2 <= 0:
        return replace(pair, se=0.0, ci_low=diff, ci_high=diff, p=1.0 if diff == 0 else 0.0)
    df = se2**2 / (va**2 / (ha - 1) + vb**2 / (hb - 1) + v3**2 / df3)
    se = math.sqrt(se2)
    half = stats.t.ppf(1 - ALPHA / 2, df) * se
    return replace(pair, se=se, df=df, ci_low=diff - half, ci_high=diff + half,
                   p=float(2 * stats.t.sf(abs(diff) / se, df)))  # fmt: skip


def holm(pvalues: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Which of `pvalues` Holm's step-down procedure rejects at family-wise level `alpha` (NaN: never)."""
    p = np.where(np.isnan(pvalues), np.inf, pvalues)
    reject = np.zeros(len(p), bool)
    for rank, i in enumerate(np.argsort(p, kind="stable")):
        if p[i] > alpha / (len(p) - rank):
            break
        reject[i] = True
    return reject


def compare(scores: list[Scores], details: bool = True, method: str = "welch") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each model's mean, seed SD, seeds and t-interval (cells), and every pair (pairs; see
    compare_pair for `details`). `method` trimmed: means are 20%-trimmed means, pairs are
    Yuen-Welch tests with the interaction variance, decided by Holm's correction over the pairs."""
    if method not in METHODS:
        raise ValueError(f"unknown comparison {method!r}; choose from {', '.join(METHODS)}")
    cells = []
    for s in scores:
        z = s.seed_scores()
        sd = float(z.std(ddof=1)) if len(z) > 1 else math.nan
        if method == "trimmed" and len(z) > 2:
            mean, var, h = trimmed_summary(z)
            half = stats.t.ppf(1 - ALPHA / 2, h - 1) * math.sqrt(var) if h > 1 else math.nan
        else:
            mean = float(z.mean())
            half = stats.t.ppf(1 - ALPHA / 2, len(z) - 1) * sd / math.sqrt(len(z)) if len(z) > 1 else math.nan
        cells.append((s.model, mean, sd, len(z), mean - half, mean + half))
    cells = pd.DataFrame(cells, columns=["model", "mean", "seed_sd", "seeds", "ci_low", "ci_high"])
    combos = list(itertools.combinations(scores, 2))
    if method == "trimmed":
        pairs = pd.DataFrame([asdict(compare_trimmed_pair(a, b)) for a, b in combos], columns=PAIR_COLUMNS)
        pairs["differs"] = holm(pairs["p"].to_numpy(dtype=float)) if len(pairs) else []
        return cells, pairs
    pairs = pd.DataFrame([asdict(compare_pair(a, b, len(scores), details)) for a, b in combos], columns=PAIR_COLUMNS)
    return cells, pairs


def best_group(cells: pd.DataFrame, pairs: pd.DataFrame) -> set[str]:
    """The best model by mean and every model that is not significantly worse."""
    best = cells.loc[cells["mean"].idxmax(), "model"]
    beaten = pairs[pairs["differs"] & ((pairs["a"] == best) | (pairs["b"] == best))]
    return set(cells["model"]) - (set(beaten["a"]) | set(beaten["b"])) | {best}


@dataclass
class Resolution:
    """What a table can tell apart: the difference its seeds detect at POWER, and the seeds a 3-
    and a 4-point difference would need (None: out of reach, the nets' own variance is larger)."""

    detectable: float
    seeds: int
    seed_sd: float
    interaction_var: float
    seeds_for: dict[float, int | None]

    def describe(self) -> str:
        """One sentence: what these seeds detect, and what the targets need."""
        need = ", ".join(f"{d:g} points {n if n else 'out of reach'}" for d, n in self.seeds_for.items())
        return (
            f"{self.seeds} seeds detect {self.detectable:.1f} points at 80% power (seed SD {self.seed_sd:.1f}); "
            f"seeds needed per model for {need}"
        )


def detectable_difference(seed_sd: float, interaction_var: float, seeds: int, k: int, power: float = POWER) -> float:
    """The smallest difference of two of k models (seed SD `seed_sd`, `seeds` each; the nets'
    variance `interaction_var` of a difference) that the pairwise test finds with `power`."""
    se = math.sqrt(2 * seed_sd**2 / seeds + interaction_var)
    df = max(2 * (seeds - 1), 1)
    return (critical_t(k, min(df, MAX_DF)) + stats.t.ppf(power, df)) * se


def seeds_needed(target: float, seed_sd: float, interaction_var: float, k: int, most: int = 1000) -> int | None:
    """The fewest seeds per model that detect a difference of `target` with POWER (None: not
    within `most`)."""
    if detectable_difference(0.0, interaction_var, MAX_DF, k) > target:  # the nets' variance alone is too large
        return None
    for n in range(2, most + 1):
        if detectable_difference(seed_sd, interaction_var, n, k) <= target:
            return n
    return None


def resolution(cells: pd.DataFrame, pairs: pd.DataFrame) -> Resolution | None:
    """A table's resolution from its measured variances: the pooled seed SD (models with two or
    more seeds), the mean interaction variance of its pairs, its fewest seeds."""
    varied = cells[cells["seeds"] > 1]
    if len(varied) < 2 or pairs["se"].isna().all():
        return None
    seed_sd = float(np.sqrt((varied["seed_sd"] ** 2).mean()))
    seed_part = pairs["a"].map(cells.set_index("model")["seed_sd"] ** 2 / cells.set_index("model")["seeds"])
    seed_part += pairs["b"].map(cells.set_index("model")["seed_sd"] ** 2 / cells.set_index("model")["seeds"])
    interaction = float(np.clip((pairs["se"] ** 2 - seed_part).mean(), 0, None))
    k, seeds = len(cells), int(varied["seeds"].min())
    return Resolution(
        detectable_difference(seed_sd, interaction, seeds, k),
        seeds,
        seed_sd,
        interaction,
        {d: seeds_needed(d, seed_sd, interaction, k) for d in (3.0, 4.0)},
    )


def common_nets(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """`rows` (one table's per-net rows, baseline excluded) on the (split, net) keys every run
    has, and the keys left out (named in a warning by the caller)."""
    keys = rows[["split", "arch"]].apply(tuple, axis=1)
    runs = rows.groupby(["model", "seed"]).apply(lambda g: set(zip(g["split"], g["arch"])), include_groups=False)
    common = set.intersection(*runs) if len(runs) else set()
    dropped = sorted({f"{s}:{a}" for s, a in set(keys) - common})
    return rows[keys.isin(common)], dropped


def scores_of(rows: pd.DataFrame) -> list[Scores]:
    """One Scores per model of `rows` (already on common nets), nets in one order for all."""
    out = []
    for model, g in rows.groupby("model", sort=True):
        table = g.pivot_table(index="seed", columns=["split", "arch"], values="acc").sort_index(axis=1)
        out.append(
            Scores(model, table.index.tolist(), table.to_numpy(dtype=float), np.array([s for s, _ in table.columns]))
        )
    return out


@dataclass
class SplitStats:
    """One analysis (a split, or every split with split as a fixed effect): its models' cells,
    the pairwise comparisons, the best group (None: too few seeds), the resolution, and the
    nets it left out because some run lacked them."""

    split: str
    archs: list[str]
    cells: pd.DataFrame  # model, mean, seed_sd, seeds, ci_low, ci_high
    pairs: pd.DataFrame  # a, b, diff, se, df, ci_low, ci_high, p, differs, p_improve (+ CI)
    best_group: set[str] | None
    resolution: Resolution | None
    dropped: list[str]
    method: str = "welch"  # the pairwise comparison (METHODS)

    @property
    def seeds(self) -> int:
        """The fewest seeds of any model."""
        return int(self.cells["seeds"].min())


def analyse(rows: pd.DataFrame, split: str, method: str = "welch") -> SplitStats | None:
    """The analysis of `rows` (per-net rows of one table; one split, or several as fixed
    effects) on the nets every run has; None with fewer than two models."""
    rows = rows[rows["model"] != BASELINE]
    if rows["model"].nunique() < 2:
        return None
    rows, dropped = common_nets(rows)
    if dropped:
        warnings.warn(
            f"{split}: {len(dropped)} net(s) missing from some run are left out of the comparison: "
            f"{', '.join(dropped[:8])}{' ...' if len(dropped) > 8 else ''}",
            stacklevel=2,
        )
    if len(rows) == 0:
        return None
    scores = scores_of(rows)
    cells, pairs = compare(scores, method=method)
    enough = cells["seeds"].min() >= MIN_SEEDS
    # the normal formula's resolution describes the mean comparison only; the trimmed one's comes
    # from a simulated power table (leaderboard.simulate.power_table)
    stated = resolution(cells, pairs) if method == "welch" else None
    return SplitStats(
        split,
        sorted(set(rows["arch"])),
        cells,
        pairs,
        best_group(cells, pairs) if enough else None,
        stated,
        dropped,
        method,
    )


def split_stats(arch_rows: pd.DataFrame, split: str, method: str = "welch") -> SplitStats | None:
    """The analysis of one split."""
    return analyse(arch_rows[arch_rows["split"] == split], split, method)


OVERALL = "all splits"


def overall_stats(arch_rows: pd.DataFrame, method: str = "welch") -> SplitStats | None:
    """The headline: every split of the table in one analysis, split as a fixed effect (each
    split weighs the same); None with a single split."""
    if arch_rows["split"].nunique() < 2:
        return None
    return analyse(arch_rows, OVERALL, method)


def annotate(
    cell_frame: pd.DataFrame, arch_rows: pd.DataFrame, method: str = "welch"
) -> tuple[pd.DataFrame, list[SplitStats]]:
    """One table's cells with `ci_low`/`ci_high` (the t-interval of the cell's seed scores on the
    split's common nets; NaN with one seed or no per-net results), `seed_sd`, `best_group`
    (True/False) and the split's resolution (`detectable`, `seeds_for_3`, `seeds_for_4`), and the
    analysis of each split (then the overall one, when there are several)."""
    out = cell_frame.copy()
    out["ci_low"], out["ci_high"], out["seed_sd"], out["best_group"] = math.nan, math.nan, math.nan, False
    out["detectable"], out["seeds_for_3"], out["seeds_for_4"] = math.nan, math.nan, math.nan
    analyses = [a for split in arch_rows["split"].unique() if (a := split_stats(arch_rows, split, method))]
    for a in analyses:
        in_split = out["split"] == a.split
        for c in a.cells.itertuples():
            at = in_split & (out["model"] == c.model)
            out.loc[at, ["ci_low", "ci_high", "seed_sd"]] = c.ci_low, c.ci_high, c.seed_sd
        if a.best_group is not None:
            out.loc[in_split & out["model"].isin(a.best_group), "best_group"] = True
        if a.resolution is not None:
            r = a.resolution
            out.loc[in_split, ["detectable", "seeds_for_3", "seeds_for_4"]] = (
                r.detectable,
                r.seeds_for[3.0] or math.nan,
                r.seeds_for[4.0] or math.nan,
            )
    overall = overall_stats(arch_rows, method)
    return out, analyses + ([overall] if overall is not None else [])


@dataclass
class RankStats:
    """Across splits: Friedman over seed blocks, each model's average rank, Nemenyi p-values."""

    seeds: list[int]
    splits: list[str]
    statistic: float
    pvalue: float
    ranks: pd.Series  # average rank, 1 = best
    nemenyi: pd.DataFrame  # model x model p-values
    critical_difference: float  # Nemenyi's CD at ALPHA, in ranks


def rank_stats(arch_rows: pd.DataFrame) -> RankStats | None:
    """Friedman test with one block per seed every model has: each model's accuracy averaged
    over the (split, net) keys every run has. None with fewer than three models or two seeds."""
    rows = arch_rows[arch_rows["model"] != BASELINE]
    models = sorted(rows["model"].unique())
    if len(models) < 3:
        return None
    seeds = sorted(set.intersection(*(set(rows.loc[rows["model"] == m, "seed"]) for m in models)))
    rows, _ = common_nets(rows[rows["seed"].isin(seeds)])
    if len(seeds) < 2 or len(rows) == 0:
        return None
    blocks = rows.groupby(["seed", "model"])["acc"].mean().unstack("model")[models]
    with warnings.catch_warnings():  # all models equal in every block: NaN statistic
        warnings.simplefilter("ignore")
        statistic, pvalue = stats.friedmanchisquare(*(blocks[m] for m in models))
    ranks = blocks.rank(axis=1, ascending=False).mean()
    nemenyi = sp.posthoc_nemenyi_friedman(blocks.to_numpy())
    nemenyi.index = nemenyi.columns = models
    k, n = len(models), len(seeds)
    q = stats.studentized_range.ppf(1 - ALPHA, k, np.inf) / math.sqrt(2)
    return RankStats(
        seeds,
        sorted(set(rows["split"])),
        float(statistic),
        float(pvalue),
        ranks,
        nemenyi,
        q * math.sqrt(k * (k + 1) / (6 * n)),
    )


def improvement_matrix(analysis: SplitStats) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Row model vs column model: P(row > column) and its text with the 95% interval."""
    models = sorted(analysis.cells["model"])
    value = pd.DataFrame(np.nan, index=models, columns=models)
    text = pd.DataFrame("", index=models, columns=models)
    for p in analysis.pairs.itertuples():
        for x, y, v, lo, hi in (
            (p.a, p.b, p.p_improve, p.p_improve_low, p.p_improve_high),
            (p.b, p.a, 1 - p.p_improve, 1 - p.p_improve_high, 1 - p.p_improve_low),
        ):
            value.loc[x, y] = v
            text.loc[x, y] = f"{v:.2f}" + ("" if math.isnan(lo) else f"\n[{lo:.2f}, {hi:.2f}]")
    return value, text


@dataclass
class RankAgreement:
    """How a table's order of models agrees with another's (fine-tuned against 0-step): Kendall's
    tau between the two orders of the same models within each seed, its mean and a t-interval
    over the seeds (the replicates)."""

    tau: float
    ci_low: float
    ci_high: float
    seeds: int
    models: int

    def describe(self, against: str) -> str:
        """One line for the table's notes."""
        ci = "" if self.seeds < 2 else f" [{self.ci_low:.2f}, {self.ci_high:.2f}] (95% t-interval)"
        return (
            f"Order against {against}: Kendall τ = {self.tau:.2f}{ci} over {self.seeds} seed(s) of "
            f"{self.models} models (1: the same order, 0: unrelated, -1: reversed)."
        )


def rank_agreement(a: pd.DataFrame, b: pd.DataFrame) -> RankAgreement | None:
    """RankAgreement of two run frames (leaderboard.table.runs_frame of one table under two
    methods): per seed, each model's mean over splits under each, tau over the models both score
    (random init left out: it is the baseline, not a ranked model); None below 3 models."""

    def per_seed(frame: pd.DataFrame) -> pd.DataFrame:
        ours = frame[frame["model"] != BASELINE]
        return ours.groupby(["seed", "model"])["mean"].mean().unstack("model")

    x, y = per_seed(a), per_seed(b)
    models = sorted(set(x.columns) & set(y.columns))
    taus = []
    for seed in sorted(set(x.index) & set(y.index)):
        pair = pd.DataFrame({"x": x.loc[seed, models], "y": y.loc[seed, models]}).dropna()
        if len(pair) >= 3:
            taus.append(stats.kendalltau(pair["x"], pair["y"]).statistic)
    if len(models) < 3 or not taus:
        return None
    mean = float(np.mean(taus))
    if len(taus) < 2:
        return RankAgreement(mean, math.nan, math.nan, 1, len(models))
    half = stats.t.ppf(0.975, len(taus) - 1) * np.std(taus, ddof=1) / math.sqrt(len(taus))
    return RankAgreement(mean, max(-1.0, mean - half), min(1.0, mean + half), len(taus), len(models))
