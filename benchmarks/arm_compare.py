"""Two arms of one model's seeds compared (issue 26's warmup experiments): per model and split the
mean, seed SD with its chi-square CI, the SD ratio with its F-interval, Brown-Forsythe's p and the
paired-seed mean difference; pooled over the models with the seed as the unit (its splits
averaged); and, with --simulate, the pooled spread test's false-positive rate and power.

    python benchmarks/arm_compare.py --plain RESULTS[,RESULTS] --treated RESULTS --gnn gcn,gatedgnn --preset rank
"""

from __future__ import annotations

import argparse
import glob

import numpy as np
from scipy import stats

from bench.config.schema import RecordError, read_record

SPLITS = ("val", "ood-deep")


def load(folders: str, gnn: str, preset: str) -> dict[str, dict[int, float]]:
    """{split: {seed: top-1 of the predicted parameters}} of `gnn`'s GHN-2 records of `preset` (its
    name, with or without overridden settings) in the folders."""
    out: dict[str, dict[int, float]] = {}
    for path in (f for folder in folders.split(",") for f in glob.glob(f"{folder}/*.json")):
        try:
            r = read_record(path)
        except RecordError:  # not a run's record (a property or fine-tuning file, a broken one)
            continue
        if r["gnn"] == gnn and r["ghn"] == "ghn2" and r["preset"].split("-")[0] == preset:
            out.setdefault(r["split"], {})[r["seed"]] = r["metrics"]["ghn"]["mean"]
    return out


def sd_ci(a: np.ndarray) -> tuple[float, float, float]:
    """Seed SD and its 95% chi-square interval."""
    sd = a.std(ddof=1)
    lo, hi = sd * np.sqrt((len(a) - 1) / stats.chi2.ppf([0.975, 0.025], len(a) - 1))
    return sd, lo, hi


def pooled_spread(arms: list[tuple[dict, dict]]) -> tuple[np.ndarray, np.ndarray]:
    """Per seed, the absolute deviation from its arm's median (within model and split), splits averaged."""
    dev: tuple[list, list] = ([], [])
    for pair in arms:
        for k, data in enumerate(pair):
            seeds = sorted(set.intersection(*(set(data[s]) for s in SPLITS)))
            med = {s: np.median([data[s][i] for i in seeds]) for s in SPLITS}
            dev[k].extend(np.mean([abs(data[s][i] - med[s]) for s in SPLITS]) for i in seeds)
    return np.array(dev[0]), np.array(dev[1])


def simulate(seeds: int, models: int, trials: int = 4000, rho: float = 0.8) -> None:
    """False positives (equal SDs) and power (SD halved) of the pooled spread test at alpha 0.05."""
    rng = np.random.default_rng(0)
    for ratio in (1.0, 0.5):
        hits = 0
        for _ in range(trials):
            arms = []
            for _ in range(models):
                pair = []
                for sd in (5.0, 5.0 * ratio):
                    x = rng.multivariate_normal([45, 43], sd**2 * np.array([[1, rho], [rho, 1]]), size=seeds)
                    pair.append({s: dict(enumerate(x[:, j])) for j, s in enumerate(SPLITS)})
                arms.append(tuple(pair))
            a, b = pooled_spread(arms)
            hits += stats.ttest_ind(a, b, equal_var=False).pvalue < 0.05
        print(f"simulated, SD ratio {ratio}: the pooled test rejects in {hits / trials:.1%} of {trials} trials")


def main() -> None:
    """Print the comparison."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--plain", required=True, help="records folders of the plain arm, comma-separated")
    p.add_argument("--treated", required=True, help="records folders of the treated arm")
    p.add_argument("--gnn", default="gcn,gatedgnn")
    p.add_argument("--preset", default="rank", help="the preset both arms ran (overrides such as --warmup allowed)")
    p.add_argument("--simulate", action="store_true", help="also check the pooled test by simulation")
    args = p.parse_args()
    arms, diffs = [], []
    for gnn in args.gnn.split(","):
        plain, treated = load(args.plain, gnn, args.preset), load(args.treated, gnn, args.preset)
        arms.append((plain, treated))
        for split in SPLITS:
            a, b = (np.array([d[split][i] for i in sorted(d[split])]) for d in (plain, treated))
            (sa, la, ha), (sb, lb, hb) = sd_ci(a), sd_ci(b)
            f_lo, f_hi = stats.f.ppf([0.025, 0.975], len(b) - 1, len(a) - 1)
            paired = sorted(set(plain[split]) & set(treated[split]))
            d = np.array([treated[split][i] - plain[split][i] for i in paired])
            print(
                f"{gnn} {split}: plain {a.mean():.1f}, SD {sa:.2f} [{la:.2f}, {ha:.2f}] ({len(a)}); treated "
                f"{b.mean():.1f}, SD {sb:.2f} [{lb:.2f}, {hb:.2f}] ({len(b)}); SD ratio {sb / sa:.2f} "
                f"[{sb / sa / np.sqrt(f_hi):.2f}, {sb / sa / np.sqrt(f_lo):.2f}], Brown-Forsythe p "
                f"{stats.levene(a, b, center='median').pvalue:.2f}; paired difference {d.mean():+.2f} "
                f"(p {stats.ttest_1samp(d, 0).pvalue:.2f}, {len(d)} seeds)"
            )
        both = sorted(set.intersection(*(set(d[s]) for d in (plain, treated) for s in SPLITS)))
        diffs += [np.mean([treated[s][i] - plain[s][i] for s in SPLITS]) for i in both]
    a, b = pooled_spread(arms)
    d = np.array(diffs)
    lo, hi = stats.t.interval(0.95, len(d) - 1, d.mean(), stats.sem(d))
    print(
        f"pooled: spread {b.mean():.2f} treated vs {a.mean():.2f} plain (ratio {b.mean() / a.mean():.2f}, Welch p "
        f"{stats.ttest_ind(a, b, equal_var=False).pvalue:.2f}); mean difference {d.mean():+.2f} [{lo:+.2f}, {hi:+.2f}] "
        f"(paired t p {stats.ttest_1samp(d, 0).pvalue:.2f}, {len(d)} seeds)"
    )
    if args.simulate:
        simulate(len(b) // len(arms), len(arms))


if __name__ == "__main__":
    main()
