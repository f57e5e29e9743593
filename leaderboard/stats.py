"""Paired statistics of a leaderboard: bootstrap CIs, pairwise tests, best groups, Friedman/Nemenyi.

Every model of a table is scored on the same architectures and images, so two models pair
architecture by architecture. A GHN's training seed moves all its architectures together
(measured on `tiny`: seeds of one core differ by up to ~5 points, several times the spread a
test over architectures sees), so a difference counts only when it holds over both:

- architectures: Wilcoxon signed-rank over the per-architecture differences (each averaged over
  the seeds), Holm-corrected across the pairs of a split (scikit-posthocs' `posthoc_wilcoxon`);
- seeds: Tukey's HSD over the models' run means (scipy's `tukey_hsd`), which tests with the
  seed-to-seed spread and controls the error over all pairs.

docs/leaderboard.md says how to read the results and why the seeds are the Friedman blocks.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats

from .table import BASELINE

ALPHA = 0.05  # significance level of every test and 1 - the CIs' level
MIN_SEEDS = 3  # fewer seeds per cell: the table marks no best group
N_RESAMPLES = 2000  # bootstrap resamples per interval


def matrix(arch_rows: pd.DataFrame, model: str, seeds: list[int] | None = None,
           archs: list[str] | None = None) -> np.ndarray:
    """`model`'s accuracies as a seeds x archs array (rows of arch_frame, one split): of the
    given seeds and archs, else of all its seeds and the archs every one of them has."""
    rows = arch_rows[arch_rows["model"] == model].pivot_table(index="seed", columns="arch", values="acc")
    if seeds is None or archs is None:
        return rows.dropna(axis=1).to_numpy(dtype=float)
    return rows.loc[seeds, archs].to_numpy(dtype=float)


def crossed_ci(values: np.ndarray, seed: int = 0, n_resamples: int = N_RESAMPLES) -> tuple[float, float]:
    """95% percentile-bootstrap interval of values.mean() (seeds x archs), resampling the seeds
    and the architectures independently (scipy.stats.bootstrap over the two index vectors)."""
    if values.size == 0:
        return math.nan, math.nan
    if np.ptp(values) == 0:
        return float(values.flat[0]), float(values.flat[0])
    samples = tuple(np.arange(n) for n in values.shape if n > 1)
    seeds_resampled = values.shape[0] > 1

    def mean(*idx: np.ndarray, axis: int = -1) -> np.ndarray:
        s = idx[0] if seeds_resampled else np.zeros_like(idx[0][..., :1])
        a = idx[-1] if values.shape[1] > 1 else np.zeros_like(idx[0][..., :1])
        return values[s[..., :, None], a[..., None, :]].mean(axis=(-2, -1))

    res = stats.bootstrap(samples, mean, paired=False, vectorized=True, n_resamples=n_resamples,
                          confidence_level=1 - ALPHA, method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass
class SplitStats:
    """One split's paired analysis: the seeds and archs every model has, each model's mean over
    them, the pairwise comparisons, and the best group (None: too few seeds)."""

    split: str
    seeds: list[int]
    archs: list[str]
    cells: pd.DataFrame  # model, mean
    pairs: pd.DataFrame  # a, b, diff (a - b), ci_low, ci_high, p_archs, p_seeds, differs
    best_group: set[str] | None


def split_stats(arch_rows: pd.DataFrame, split: str, n_resamples: int = N_RESAMPLES) -> SplitStats | None:
    """The paired analysis of the models of one split (the baseline excluded: it is no contestant);
    None when fewer than two models share two or more architectures."""
    rows = arch_rows[(arch_rows["split"] == split) & (arch_rows["model"] != BASELINE)]
    models = sorted(rows["model"].unique())
    by_model = [rows[rows["model"] == m] for m in models]
    seeds = sorted(set.intersection(*(set(g["seed"]) for g in by_model))) if by_model else []
    archs = sorted(set.intersection(*(set(g["arch"]) for g in by_model))) if by_model else []
    if len(models) < 2 or not seeds or len(archs) < 2:
        return None
    mats = {m: matrix(rows, m, seeds, archs) for m in models}
    cells = pd.DataFrame([(m, mats[m].mean()) for m in models], columns=["model", "mean"])
    per_arch = pd.DataFrame([(m, a, v) for m in models for a, v in zip(archs, mats[m].mean(axis=0))],
                            columns=["model", "arch", "acc"])
    with warnings.catch_warnings():  # exact ties or zero spread: NaN p-values, read as "no difference"
        warnings.simplefilter("ignore")
        p_archs = sp.posthoc_wilcoxon(per_arch, val_col="acc", group_col="model", zero_method="zsplit",
                                      p_adjust="holm")
        p_seeds = (pd.DataFrame(stats.tukey_hsd(*(mats[m].mean(axis=1) for m in models)).pvalue, index=models,
                                columns=models) if len(seeds) > 1 else None)
    pairs = []
    for a, b in itertools.combinations(models, 2):
        pa = float(p_archs.loc[a, b])
        ps = math.nan if p_seeds is None else float(p_seeds.loc[a, b])
        low, high = crossed_ci(mats[a] - mats[b], n_resamples=n_resamples)
        pairs.append((a, b, float((mats[a] - mats[b]).mean()), low, high, pa, ps, pa < ALPHA and ps < ALPHA))
    pairs = pd.DataFrame(pairs, columns=["a", "b", "diff", "ci_low", "ci_high", "p_archs", "p_seeds", "differs"])
    return SplitStats(split, seeds, archs, cells, pairs, best_group(cells, pairs) if len(seeds) >= MIN_SEEDS else None)


def best_group(cells: pd.DataFrame, pairs: pd.DataFrame) -> set[str]:
    """The best model by mean and every model that does not differ from it significantly."""
    best = cells.loc[cells["mean"].idxmax(), "model"]
    beaten = pairs[pairs["differs"] & ((pairs["a"] == best) | (pairs["b"] == best))]
    return set(cells["model"]) - (set(beaten["a"]) | set(beaten["b"])) | {best}


def annotate(cell_frame: pd.DataFrame, arch_rows: pd.DataFrame,
             n_resamples: int = N_RESAMPLES) -> tuple[pd.DataFrame, list[SplitStats]]:
    """One table's cells with `ci_low`/`ci_high` (the crossed bootstrap of each cell's own seeds
    x archs; NaN without per-net results) and `best_group` (True/False; False everywhere in a
    split without one), and the paired analysis of each split."""
    out = cell_frame.copy()
    out["ci_low"], out["ci_high"], out["best_group"] = math.nan, math.nan, False
    analyses = [a for split in arch_rows["split"].unique() if (a := split_stats(arch_rows, split, n_resamples))]
    for i, cell in out.iterrows():
        if cell.get("imported"):
            continue
        values = matrix(arch_rows[arch_rows["split"] == cell["split"]], cell["model"])
        out.loc[i, ["ci_low", "ci_high"]] = crossed_ci(values, n_resamples=n_resamples)
    for a in analyses:
        if a.best_group is not None:
            out.loc[(out["split"] == a.split) & out["model"].isin(a.best_group), "best_group"] = True
    return out, analyses


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
    """Friedman test with one block per seed: each model's accuracy averaged over the
    architectures and splits every model has (a block is one independent training of every
    model; architectures or splits as blocks would count one GHN's luck many times). None
    with fewer than three models or two seeds."""
    rows = arch_rows[arch_rows["model"] != BASELINE]
    models = sorted(rows["model"].unique())
    if len(models) < 3:
        return None
    have = [rows[rows["model"] == m] for m in models]
    seeds = sorted(set.intersection(*(set(g["seed"]) for g in have)))
    keys = set.intersection(*(set(zip(g["split"], g["arch"])) for g in have))
    if len(seeds) < 2 or not keys:
        return None
    common = rows[rows["seed"].isin(seeds) & pd.Series(list(zip(rows["split"], rows["arch"])), index=rows.index).isin(keys)]
    blocks = common.groupby(["seed", "model"])["acc"].mean().unstack("model")[models]
    with warnings.catch_warnings():  # all models equal in every block: NaN statistic
        warnings.simplefilter("ignore")
        statistic, pvalue = stats.friedmanchisquare(*(blocks[m] for m in models))
    ranks = blocks.rank(axis=1, ascending=False).mean()
    nemenyi = sp.posthoc_nemenyi_friedman(blocks.to_numpy())
    nemenyi.index = nemenyi.columns = models
    k, n = len(models), len(seeds)
    q = stats.studentized_range.ppf(1 - ALPHA, k, np.inf) / math.sqrt(2)
    return RankStats(seeds, sorted({s for s, _ in keys}), float(statistic), float(pvalue), ranks, nemenyi,
                     q * math.sqrt(k * (k + 1) / (6 * n)))


def win_tie_loss(analyses: list[SplitStats]) -> pd.DataFrame:
    """a x b counts over the splits: wins (a significantly above b), ties, losses, as "W/T/L"."""
    models = sorted({m for s in analyses for m in s.cells["model"]})
    counts = {(a, b): [0, 0, 0] for a in models for b in models if a != b}
    for s in analyses:
        for p in s.pairs.itertuples():
            outcome = 1 if not p.differs else 0 if p.diff > 0 else 2
            counts[(p.a, p.b)][outcome] += 1
            counts[(p.b, p.a)][2 - outcome] += 1
    return pd.DataFrame({b: {a: "/".join(map(str, counts[(a, b)])) if a != b else "" for a in models}
                         for b in models})[models]
