"""Simulated ranking grids with known answers, to check and choose a table's comparison under the
seed distribution the runs really have (heavy tailed: a tight core plus outlier seeds).

A grid: k models x S seeds, scored on N nets in each of G splits. A net's accuracy for a model
in a seed = the model's mean + the seed's shift (drawn from the seed distribution, per model
and seed) + the net's difficulty (shared by every model) + a model x net interaction + noise.
The seed distribution is a contaminated normal: SD `sigma`, and with probability `q` an
outlier of SD `tau` instead (q = 0: normal seeds). `fit_seeds` fits it to measured seed scores
by maximum likelihood; `error_rates` measures a comparison's family-wise error (every model
equal) and its power to find one model `delta` points worse than the others.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from .stats import METHODS, Scores, compare

MAX_OUTLIERS = 0.3  # the fitted outlier fraction's upper bound
SIGMA_FLOOR = 0.25  # points: the fitted core SD's lower bound (a seed score's own noise over 20 nets is ~0.5)


@dataclass(frozen=True)
class SeedDistribution:
    """A contaminated normal: N(0, sigma^2) with probability 1 - q, N(0, tau^2) with probability q."""

    sigma: float
    q: float = 0.0
    tau: float = 0.0

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` seed shifts."""
        core = rng.normal(0, self.sigma, size)
        if self.q <= 0:
            return core
        return np.where(rng.random(size) < self.q, rng.normal(0, self.tau, size), core)

    def log_likelihood(self, x: np.ndarray) -> float:
        """The log-likelihood of centred seed scores `x`."""
        core = (1 - self.q) * stats.norm.pdf(x, 0, self.sigma)
        tail = self.q * stats.norm.pdf(x, 0, self.tau) if self.q > 0 else 0.0
        return float(np.log(core + tail + 1e-300).sum())

    def describe(self) -> str:
        """The distribution in words."""
        if self.q < 0.005:
            return f"normal seeds, SD {self.sigma:.1f}"
        return f"a core of SD {self.sigma:.1f} with {self.q:.0%} outliers of SD {self.tau:.1f}"


def fit_seeds(groups: list[np.ndarray]) -> SeedDistribution:
    """The contaminated normal that fits seed scores best (maximum likelihood), each group (a
    model's seeds) centred on its own median; the outliers' SD at least twice the core's, the
    core's at least SIGMA_FLOOR (seeds that tie exactly would otherwise drive it to 0, where the
    likelihood has no maximum)."""
    x = np.concatenate([np.asarray(g, float) - np.median(g) for g in groups if len(g)])
    spread = max(float(np.std(x)), 1e-3)

    def loss(theta: np.ndarray) -> float:
        sigma = SIGMA_FLOOR + math.exp(theta[0])
        q, ratio = MAX_OUTLIERS / (1 + math.exp(-theta[1])), 2 + math.exp(theta[2])
        return -SeedDistribution(sigma, q, sigma * ratio).log_likelihood(x)

    starts = [np.array([math.log(spread * f), -2.0, math.log(r)]) for f in (0.3, 1.0) for r in (1.0, 5.0)]
    best = min(
        (optimize.minimize(loss, s, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-6}) for s in starts),
        key=lambda r: r.fun,
    )
    normal = SeedDistribution(max(float(np.std(x, ddof=1)) if len(x) > 1 else spread, SIGMA_FLOOR))
    if -best.fun - normal.log_likelihood(x) < stats.chi2.ppf(0.95, 2) / 2:  # the tail earns no likelihood: normal
        return normal
    sigma = SIGMA_FLOOR + math.exp(best.x[0])
    return SeedDistribution(sigma, MAX_OUTLIERS / (1 + math.exp(-best.x[1])), sigma * (2 + math.exp(best.x[2])))


@dataclass(frozen=True)
class Grid:
    """The design of a simulated grid and its variances besides the seeds' (defaults: a plausible
    design for tests; fit_grid measures them from runs)."""

    models: int = 7
    seeds: int = 12
    nets: int = 20  # a split
    splits: int = 2
    net_sd: float = 8.0  # the nets' own difficulty (cancels in a difference)
    interaction_sd: float = 1.5  # model x net
    noise_sd: float = 2.5  # per (model, seed, net)


def fit_grid(scores: list[Scores], models: int) -> Grid:
    """A grid of `models` models with the variances measured in `scores` (each model's seeds x
    nets, the nets in splits), by the method of moments within each split: the per-net noise from
    each model's seed x net residuals, the model x net interaction from the models' per-net means
    (less their noise), the nets' difficulty from the nets' means (less both). The seed shifts
    are not fitted here (fit_seeds does), and cancel in every term."""
    if len(scores) < 2:
        raise ValueError("fit_grid needs at least two models' per-net scores (the interaction is between models)")
    groups = scores[0].groups
    inv_seeds = float(np.mean([1 / len(sc.seeds) for sc in scores]))
    noise_ss = noise_df = inter_ss = inter_df = net_ss = net_df = 0.0
    for g in np.unique(groups):
        runs = [sc.values[:, groups == g] for sc in scores]  # per model: seeds x nets of split g
        for y in runs:
            resid = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
            noise_ss += float((resid**2).sum())
            noise_df += (y.shape[0] - 1) * (y.shape[1] - 1)
        means = np.stack([y.mean(0) for y in runs])  # models x nets
        inter = means - means.mean(1, keepdims=True) - means.mean(0, keepdims=True) + means.mean()
        inter_ss += float((inter**2).sum())
        inter_df += (means.shape[0] - 1) * (means.shape[1] - 1)
        net_ss += float(((means.mean(0) - means.mean()) ** 2).sum())
        net_df += means.shape[1] - 1
    noise = noise_ss / max(noise_df, 1)
    interaction = max(inter_ss / max(inter_df, 1) - noise * inv_seeds, 0.0)
    net = max(net_ss / max(net_df, 1) - interaction / len(scores) - noise * inv_seeds / len(scores), 0.0)
    splits = len(np.unique(groups))
    return Grid(
        models=models,
        nets=round(len(groups) / splits),
        splits=splits,
        net_sd=math.sqrt(net),
        interaction_sd=math.sqrt(interaction),
        noise_sd=math.sqrt(noise),
    )


def simulate_grid(
    rng: np.random.Generator, grid: Grid, seeds: SeedDistribution, means: np.ndarray | None = None
) -> list[Scores]:
    """One simulated grid: each model's per-seed, per-net accuracies (models m0, m1, ...)."""
    means = np.zeros(grid.models) if means is None else means
    n = grid.nets * grid.splits
    groups = np.repeat(np.arange(grid.splits), grid.nets)
    difficulty = rng.normal(0, grid.net_sd, n)
    out = []
    for m, mean in enumerate(means):
        shift = seeds.draw(rng, grid.seeds)
        values = (
            mean
            + shift[:, None]
            + difficulty[None, :]
            + rng.normal(0, grid.interaction_sd, n)[None, :]
            + rng.normal(0, grid.noise_sd, (grid.seeds, n))
        )
        out.append(Scores(f"m{m}", list(range(grid.seeds)), values, groups))
    return out


@dataclass
class ErrorRates:
    """A comparison's simulated family-wise error (every model equal) and power (one model
    `delta` worse: how often its pair with each other model is declared), over `grids` grids."""

    method: str
    family_wise_error: float
    power: float
    grids: int


def error_rates(
    method: str, grid: Grid, seeds: SeedDistribution, delta: float, grids: int = 400, seed: int = 0
) -> ErrorRates:
    """Simulate `grids` null grids and `grids` grids with model m0 `delta` points worse."""
    rng = np.random.default_rng(seed)
    errors, found = 0, 0.0
    for _ in range(grids):
        _, pairs = compare(simulate_grid(rng, grid, seeds), details=False, method=method)
        errors += bool(pairs["differs"].any())
        means = np.zeros(grid.models)
        means[0] = -delta
        _, pairs = compare(simulate_grid(rng, grid, seeds, means), details=False, method=method)
        worse = pairs[(pairs["a"] == "m0") | (pairs["b"] == "m0")]
        found += float(worse["differs"].mean())
    return ErrorRates(method, errors / grids, found / grids, grids)


FWER_BOUND = 0.06  # the family-wise error a comparison may reach in simulation and still be used
POWER_TIE = 0.03  # power differences within this keep the current comparison


def overall_sd(seeds: SeedDistribution) -> float:
    """The SD of a seed shift drawn from `seeds` (the normal distribution it is compared under)."""
    return math.sqrt((1 - seeds.q) * seeds.sigma**2 + seeds.q * seeds.tau**2)


def choose_comparison(
    seeds: SeedDistribution, grid: Grid, delta: float = 5.0, grids: int = 2000
) -> tuple[str, dict[str, tuple[ErrorRates, ErrorRates]]]:
    """The variance study's rule (docs/variance-study.md): of the comparisons whose family-wise
    error is <= FWER_BOUND under `seeds` and under normal seeds of the same SD, the one with the
    higher power at `delta` under `seeds`; within POWER_TIE, welch. Also every (fitted, normal)
    pair of error rates."""

    normal = SeedDistribution(overall_sd(seeds))
    rates = {
        m: (error_rates(m, grid, seeds, delta, grids), error_rates(m, grid, normal, delta, grids, seed=1))
        for m in METHODS
    }
    kept = [m for m, (fit, norm) in rates.items() if max(fit.family_wise_error, norm.family_wise_error) <= FWER_BOUND]
    if not kept:
        return "welch", rates
    best = max(kept, key=lambda m: rates[m][0].power)
    if "welch" in kept and rates[best][0].power - rates["welch"][0].power <= POWER_TIE:
        best = "welch"
    return best, rates


def simulated_resolution(
    method: str, seeds: SeedDistribution, grid: Grid, power: float = 0.8, grids: int = 400, most: float = 40.0
) -> float:
    """The smallest difference `method` finds with `power` in grids of `grid`'s design under
    `seeds` (bisection to 0.1 point; `most` if not even that)."""
    low, high = 0.0, most
    if error_rates(method, grid, seeds, high, grids).power < power:
        return most
    while high - low > 0.1:
        mid = (low + high) / 2
        low, high = (mid, high) if error_rates(method, grid, seeds, mid, grids).power < power else (low, mid)
    return round(high, 1)


@dataclass
class PowerTable:
    """A comparison's simulated power to find one model `delta` points worse, by seeds a model and
    delta, under one seed distribution and grid design: computed once (minutes), shipped beside a
    grid's records, read by planning and resolution (the normal formula overstates power under
    heavy-tailed seeds)."""

    method: str
    seeds: SeedDistribution
    grid: Grid
    power: dict[int, dict[float, float]]  # seeds a model -> difference -> power
    grids: int

    def detectable(self, seeds: int, power: float = 0.8) -> float | None:
        """The smallest tabulated difference found with `power` at `seeds` seeds (None: none is)."""
        row = self.power.get(seeds, {})
        return next((d for d in sorted(row) if row[d] >= power), None)

    def seeds_for(self, delta: float, power: float = 0.8) -> int | None:
        """The fewest tabulated seeds a model that find `delta` (at least; tabulated differences
        at or below it) with `power`; None when no tabulated count does."""
        for s in sorted(self.power):
            found = [p for d, p in self.power[s].items() if d <= delta + 1e-9]
            if found and max(found) >= power:
                return s
        return None

    def to_json(self) -> dict:
        """The table as JSON-ready data."""
        return {
            "schema": "ghnbench-power-1",
            "method": self.method,
            "seeds": vars(self.seeds),
            "grid": vars(self.grid),
            "grids": self.grids,
            "power": {str(s): {f"{d:g}": p for d, p in row.items()} for s, row in self.power.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> PowerTable:
        """The table `to_json` wrote."""
        power = {int(s): {float(d): p for d, p in row.items()} for s, row in data["power"].items()}
        return cls(data["method"], SeedDistribution(**data["seeds"]), Grid(**data["grid"]), power, data["grids"])


def read_power_table(path: str | os.PathLike) -> PowerTable:
    """The power table in a JSON file; a ValueError naming --power-table when it is not one."""
    try:
        return PowerTable.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"--power-table {path}: not a readable power table ({err})") from err


def power_table(
    method: str,
    seeds: SeedDistribution,
    grid: Grid,
    seed_counts: list[int],
    deltas: list[float],
    grids: int = 200,
    seed: int = 0,
) -> PowerTable:
    """Simulate `grids` grids per seed count; in each, model m0 is shifted by every delta in turn
    (common random numbers across the deltas, so the power rises monotonically up to noise)."""

    rng = np.random.default_rng(seed)
    power: dict[int, dict[float, float]] = {}
    for count in seed_counts:
        found = np.zeros(len(deltas))
        design = replace(grid, seeds=count)
        for _ in range(grids):
            base = simulate_grid(rng, design, seeds)
            for j, delta in enumerate(deltas):
                shifted = [
                    Scores(s.model, s.seeds, s.values - (delta if i == 0 else 0.0), s.groups)
                    for i, s in enumerate(base)
                ]
                _, pairs = compare(shifted, details=False, method=method)
                worse = pairs[(pairs["a"] == "m0") | (pairs["b"] == "m0")]
                found[j] += float(worse["differs"].mean())
        power[count] = {float(d): float(f / grids) for d, f in zip(deltas, found)}
    return PowerTable(method, seeds, grid, power, grids)
