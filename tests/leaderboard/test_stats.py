"""Statistics with known answers (leaderboard.stats): simulated tables of the design the runs
have (seeds are replicates, nets crossed with them), then records in the real format."""

import warnings

import numpy as np
import pandas as pd
import pytest

from leaderboard import stats
from leaderboard.plots import cd_diagram
from leaderboard.render import render
from leaderboard.table import BASELINE, arch_frame

from .conftest import make_record

N_ARCHS = 30
UNEQUAL_SDS = (0.7, 1.5, 2.5, 3.5, 4.2, 4.8)  # the per-core seed SDs measured on tiny (docs/gnn_zoo.md)


def simulate(
    rng: np.random.Generator,
    means,
    seed_sds,
    seeds: int = 8,
    nets: int = N_ARCHS,
    net_sd: float = 8.0,
    interaction_sd: float = 0.0,
    noise_sd: float = 2.5,
    correlation: float = 0.0,
) -> list[stats.Scores]:
    """One table of one split: accuracy = model mean + the net's difficulty (shared) + the seed's
    shift (its SD per model; `correlation` shared by every model of a seed, as a common stream
    would) + a model x net interaction + noise."""
    difficulty, shared = rng.normal(0, net_sd, nets), rng.normal(0, 1, seeds)
    out = []
    for m, (mean, sd) in enumerate(zip(means, seed_sds)):
        shift = sd * (np.sqrt(correlation) * shared + np.sqrt(1 - correlation) * rng.normal(0, 1, seeds))
        values = (
            mean
            + difficulty[None, :]
            + shift[:, None]
            + rng.normal(0, interaction_sd, nets)[None, :]
            + rng.normal(0, noise_sd, (seeds, nets))
        )
        out.append(stats.Scores(f"m{m}", list(range(seeds)), values, np.zeros(nets)))
    return out


NULL_CASES = {
    "equal seed SDs": dict(seed_sds=(3.0,) * 6),
    "unequal seed SDs 0.7-4.8": dict(seed_sds=UNEQUAL_SDS),
    "seed SD 0.3, core x net SD 1.5": dict(seed_sds=(0.3,) * 6, interaction_sd=1.5),
    "shared stream, correlation 0.6": dict(seed_sds=(3.0,) * 6, correlation=0.6),
}


def false_positive_rate(case: dict, tables: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(tables):
        _, pairs = stats.compare(simulate(rng, (0.0,) * 6, **case), details=False)
        hits += bool(pairs["differs"].any())
    return hits / tables


@pytest.mark.parametrize("case", NULL_CASES)
@pytest.mark.parametrize("tables, bound", [(150, 0.10), pytest.param(2000, 0.06, marks=pytest.mark.slow)])
def test_family_wise_false_positives_under_the_null(case, tables, bound):
    """Six equal models, 8 seeds, 30 nets: a table declares any difference at most ~5% of the
    time (the slow run: <= 6% of 2,000 tables; measured 5.0% with unequal SDs, 5.25% equal). The
    fast run's bound leaves room for its Monte-Carlo error (150 tables: SD 1.8 points)."""
    assert false_positive_rate(NULL_CASES[case], tables, seed=len(case)) <= bound


def coverage(tables: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(tables):
        _, pairs = stats.compare(simulate(rng, (0.0, 1.0), (3.0, 1.5), interaction_sd=0.8), details=False)
        hits += pairs["ci_low"].iloc[0] <= -1.0 <= pairs["ci_high"].iloc[0]
    return hits / tables


@pytest.mark.parametrize(
    "tables, low, high", [(300, 0.91, 0.99), pytest.param(3000, 0.93, 0.97, marks=pytest.mark.slow)]
)
def test_the_pair_difference_interval_covers_the_truth_95_percent_of_the_time(tables, low, high):
    """Unequal seed SDs (3 and 1.5), a model x net interaction: the t-interval of a difference
    holds the true difference (-1) about 95% of the time (a percentile bootstrap over 3 seeds
    held it 76% of the time)."""
    assert low <= coverage(tables, seed=11) <= high


@pytest.mark.parametrize("tables", [100, pytest.param(1000, marks=pytest.mark.slow)])
def test_power_to_exclude_a_core_four_points_worse(tables):
    """Five equal models and one 4 points worse, seed SD 1.5, 8 seeds: the worse one leaves the
    best group in >= 80% of the tables (measured 99%)."""
    rng = np.random.default_rng(12)
    excluded = 0
    for _ in range(tables):
        cells, pairs = stats.compare(simulate(rng, (0, 0, 0, 0, 0, -4.0), (1.5,) * 6), details=False)
        excluded += "m5" not in stats.best_group(cells, pairs)
    assert excluded / tables >= 0.8


def test_resolution_matches_simulated_power():
    """The stated detectable difference is the one found with ~80% power in simulation."""
    detectable = stats.detectable_difference(seed_sd=2.0, interaction_var=0.0, seeds=8, k=6)
    rng, found = np.random.default_rng(13), 0
    for _ in range(300):
        _, pairs = stats.compare(
            simulate(rng, (0,) * 5 + (-detectable,), (2.0,) * 6, noise_sd=0.0, net_sd=0.0), details=False
        )
        found += bool(pairs.set_index(["a", "b"]).loc[("m0", "m5"), "differs"])
    assert 0.7 <= found / 300 <= 0.9
    assert stats.seeds_needed(detectable, 2.0, 0.0, 6) == 8
    assert stats.seeds_needed(3.0, 2.0, 10.0, 6) is None  # the nets' variance alone exceeds the target


def draw(
    effects: dict[str, float],
    rng: np.random.Generator,
    seeds: int = 6,
    seed_sd: float = 1.0,
    noise_sd: float = 2.5,
    splits=("val",),
) -> list[dict]:
    """Records in the real format: accuracy = 20 + the model's effect + the net's difficulty
    (shared) + a per-(model, seed) training shift + per-net noise."""
    records = []
    for split in splits:
        difficulty = rng.normal(0, 4, N_ARCHS)
        for gnn, effect in effects.items():
            for seed in range(seeds):
                accs = 20 + effect + difficulty + rng.normal(0, seed_sd) + rng.normal(0, noise_sd, N_ARCHS)
                records.append(make_record(gnn=gnn, split=split, seed=seed, accs=list(accs)))
    return records


def analyse(records: list[dict], split: str = "val") -> stats.SplitStats:
    return stats.split_stats(arch_frame(records), split)


def test_best_group_holds_the_best_and_its_equal_and_not_the_worse():
    """gat is best, gcn is the same model up to noise, gin is 4 points worse, mlp 8 worse."""
    found = analyse(draw({"gat": 5.0, "gcn": 5.0, "gin": 1.0, "mlp": -3.0}, np.random.default_rng(0)))
    assert found.best_group == {"gat/pyg", "gcn/pyg"}
    pair = found.pairs.set_index(["a", "b"]).loc[("gat/pyg", "mlp/pyg")]
    assert pair["differs"] and pair["ci_low"] > 0 and pair["diff"] == pytest.approx(8.0, abs=1.5)
    assert pair["p"] < 0.05 and pair["p_improve"] == 1.0 and pair["p_improve_low"] <= 1.0


def test_fewer_than_five_seeds_mark_no_best_group():
    found = analyse(draw({"gat": 5.0, "gin": -5.0}, np.random.default_rng(1), seeds=4))
    assert found.best_group is None
    assert found.pairs["differs"].all()  # the tests still run; the table just marks no group


def test_models_may_have_different_seeds():
    records = [
        r
        for r in draw({"gat": 5.0, "gin": -5.0}, np.random.default_rng(2), seeds=8)
        if r["gnn"] == "gat" or r["seed"] < 6
    ]
    found = analyse(records)
    assert found.cells.set_index("model")["seeds"].to_dict() == {"gat/pyg": 8, "gin/pyg": 6}
    assert found.best_group == {"gat/pyg"}


def test_a_run_missing_nets_is_compared_on_the_common_nets_with_a_warning(tmp_path):
    """A run that lacks a net: the split is analysed on the nets every run has, the left-out
    nets are named, and the leaderboard renders (scikit-posthocs used to refuse it)."""
    from bench.config.schema import write_record

    records = draw({"gat": 5.0, "gcn": 0.0, "gin": -5.0}, np.random.default_rng(3))
    records[0]["archs"] = records[0]["archs"][:-2]
    with pytest.warns(UserWarning, match="2 net\\(s\\) missing from some run.*val:val/28, val:val/29"):
        found = analyse(records)
    assert len(found.archs) == N_ARCHS - 2 and found.dropped == ["val:val/28", "val:val/29"]
    for record in records:
        write_record(tmp_path / "results", record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "gat/pyg" in render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]


def test_the_cli_prints_a_warning_as_one_plain_line(tmp_path, capsys):
    from bench.commands.cli import main
    from bench.config.schema import write_record

    records = draw({"gat": 5.0, "gcn": 0.0}, np.random.default_rng(3))
    records[0]["archs"] = records[0]["archs"][:-2]
    for record in records:
        write_record(tmp_path / "results", record)
    assert main(["leaderboard", "--results", str(tmp_path / "results"), "--db", str(tmp_path / "db")]) == 0
    err = capsys.readouterr().err
    assert "warning: val: 2 net(s) missing from some run" in err and "UserWarning" not in err and ".py:" not in err


def test_avg_rank_counts_only_the_splits_every_model_has():
    from leaderboard.table import average_rank

    table = pd.DataFrame({"val": [50.0, 40.0], "ood-deep": [np.nan, 45.0]}, index=["a", "b"])
    assert average_rank(table).to_dict() == {"a": 1.0, "b": 2.0}  # b is not ranked 1st on a split a lacks


def test_the_overall_analysis_weighs_each_split_the_same():
    records = draw({"gat": 2.0, "gin": 0.0}, np.random.default_rng(4), splits=("val", "ood-deep"))
    frame = arch_frame(records)
    overall = stats.overall_stats(frame)
    per_split = [stats.split_stats(frame, s).pairs["diff"].iloc[0] for s in ("val", "ood-deep")]
    assert overall.split == stats.OVERALL and overall.pairs["diff"].iloc[0] == pytest.approx(np.mean(per_split))


def test_friedman_over_seed_blocks_and_the_cd_diagram_groups(tmp_path):
    """gat and gcn are equal, gin far below: over 10 seed blocks Nemenyi separates gin from both,
    and the diagram's one bar joins gat and gcn."""
    records = draw(
        {"gat": 6.0, "gcn": 6.0, "gin": -6.0}, np.random.default_rng(5), seeds=10, splits=("val", "ood-deep")
    )
    ranks = stats.rank_stats(arch_frame(records))
    assert ranks.seeds == list(range(10)) and ranks.splits == ["ood-deep", "val"]
    assert ranks.pvalue < 0.01 and ranks.ranks["gin/pyg"] == 3.0
    assert ranks.nemenyi.loc["gat/pyg", "gin/pyg"] < 0.05 and ranks.nemenyi.loc["gat/pyg", "gcn/pyg"] > 0.05
    path, groups = cd_diagram(ranks, "test", tmp_path / "cd.png")
    assert path.exists() and groups == [{"gat/pyg", "gcn/pyg"}]


def test_probability_of_improvement_matrix():
    records = draw({"gat": 6.0, "gcn": 6.0, "gin": -6.0}, np.random.default_rng(6), splits=("val", "ood-deep"))
    value, text = stats.improvement_matrix(stats.overall_stats(arch_frame(records)))
    assert value.loc["gat/pyg", "gin/pyg"] == 1.0 and value.loc["gin/pyg", "gat/pyg"] == 0.0
    assert 0.1 < value.loc["gat/pyg", "gcn/pyg"] < 0.9 and "[" in text.loc["gat/pyg", "gcn/pyg"]
    assert stats.probability_of_improvement(np.array([1.0, 2.0]), np.array([2.0, 0.0])) == pytest.approx(0.625)


def test_the_leaderboard_bolds_the_best_group_states_its_resolution_and_exports_it(tmp_path):
    from bench.config.schema import write_record

    for record in draw({"gat": 5.0, "gcn": 5.0, "gin": -3.0}, np.random.default_rng(7), splits=("val", "ood-deep")):
        write_record(tmp_path / "results", record)
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "out")
    md = done.text["md"]
    assert "(bold: each split's best group)" in md and "Resolution, val: 6 seeds detect" in md
    assert "Decided over all splits" in md and "gat/pyg > gin/pyg" in md
    assert "Friedman" not in md  # fewer than 10 seeds: no Friedman line, no CD diagram
    rows = {line.split(" | ")[0].lstrip("| "): line for line in md.splitlines() if line.startswith("| ")}
    assert "**" in rows["gat/pyg"] and "**" in rows["gcn/pyg"] and "**" not in rows["gin/pyg"]
    assert "**" not in rows[BASELINE]
    assert "<b>" in done.text["html"] and "**" not in done.text["html"]
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    gat = csv[(csv["model"] == "gat/pyg") & (csv["split"] == "val")].iloc[0]
    assert gat["best_group"] and gat["ci_low"] < gat["mean"] < gat["ci_high"] and gat["seed_sd"] > 0
    assert gat["detectable"] > 0 and gat["seeds_for_4"] >= 2
    assert not csv[(csv["model"] == "gin/pyg") & (csv["split"] == "val")]["best_group"].item()
    names = {p.name for p in done.files}
    assert "digits_tiny_improvement.png" in names and "digits_tiny_cd.png" not in names


def test_a_one_seed_table_says_so_and_marks_nothing(tmp_path):
    from bench.config.schema import write_record

    for record in draw({"gat": 5.0, "gin": -5.0}, np.random.default_rng(8), seeds=1):
        write_record(tmp_path / "results", record)
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]
    assert "fewer than 5 seeds per cell: no best group marked" in md and "**" not in md


def test_collapsed_runs_are_counted_in_the_notes(tmp_path):
    from bench.config.schema import write_record

    records = draw({"gat": 5.0, "gin": -5.0}, np.random.default_rng(9))
    records[0]["training"] = {"steps": 10, "loss_tail": 2.30, "skipped": 0, "collapsed": True}
    for record in records:
        write_record(tmp_path / "results", record)
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]
    assert "Collapsed runs" in md and "gat/pyg 1 of 6" in md


def test_rank_agreement_is_kendall_tau_within_seeds_with_a_t_interval():
    import pandas as pd

    from leaderboard.stats import rank_agreement
    from leaderboard.table import BASELINE

    def frame(scores: dict[int, dict[str, float]]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"seed": s, "model": m, "split": split, "mean": v}
                for s, by_model in scores.items()
                for m, v in by_model.items()
                for split in ("val", "ood")
            ]
        )

    zero = frame({s: {"a": 3.0 + s, "b": 2.0, "c": 1.0, BASELINE: 9.0} for s in range(4)})
    same = rank_agreement(zero, frame({s: {"a": 30.0, "b": 20.0, "c": 10.0, BASELINE: 0.0} for s in range(4)}))
    assert same.tau == 1.0 and same.seeds == 4 and same.models == 3  # random init is not ranked
    flipped = rank_agreement(zero, frame({s: {"a": 1.0, "b": 2.0, "c": 3.0 + (s % 2) * 0.0} for s in range(4)}))
    assert flipped.tau == -1.0
    mixed = rank_agreement(
        zero,
        frame(
            {
                0: {"a": 3, "b": 2, "c": 1},
                1: {"a": 1, "b": 2, "c": 3},
                2: {"a": 3, "b": 2, "c": 1},
                3: {"a": 3, "b": 1, "c": 2},
            }
        ),
    )
    expected = [1.0, -1.0, 1.0, 1 / 3]
    assert abs(mixed.tau - sum(expected) / 4) < 1e-12 and mixed.ci_low < mixed.tau < mixed.ci_high
    assert rank_agreement(zero[zero["model"] != "c"], zero) is None  # two models: no order to compare


CONTAMINATED = dict(sigma=1.5, q=0.15, tau=12.0)  # the heavy-tailed seeds: a tight core, 15% far out


@pytest.mark.parametrize("method", ["welch", "trimmed"])
@pytest.mark.parametrize("dist", ["normal", "contaminated"])
@pytest.mark.parametrize("grids, bound", [(150, 0.10), pytest.param(2000, 0.06, marks=pytest.mark.slow)])
def test_both_comparisons_hold_the_family_wise_error_under_heavy_tails(method, dist, grids, bound):
    """Seven equal models, 12 seeds, 20 nets x 2 splits, interaction 1.5, noise 2.5: neither the
    Welch/Games-Howell nor the trimmed Yuen-Welch/Holm comparison declares a difference in more
    than ~5% of the grids, with normal seeds (SD 4) or a core of SD 1.5 with 15% outliers of SD 12."""
    from leaderboard.simulate import Grid, SeedDistribution, error_rates

    seeds = SeedDistribution(4.0) if dist == "normal" else SeedDistribution(**CONTAMINATED)
    assert error_rates(method, Grid(), seeds, delta=5.0, grids=grids, seed=3).family_wise_error <= bound


def test_the_trimmed_comparison_keeps_its_power_under_outlier_seeds():
    """With outlier seeds, the trimmed comparison finds a model 5 points worse far more often
    than the mean's (simulated: ~0.9 against ~0.4 at 12 seeds); with normal seeds it loses some
    power; the pre-registered rule then picks trimmed under the outliers and welch under normal seeds."""
    from leaderboard.simulate import Grid, SeedDistribution, choose_comparison, error_rates

    heavy = SeedDistribution(**CONTAMINATED)
    trimmed, welch = (error_rates(m, Grid(), heavy, 5.0, grids=120, seed=4).power for m in ("trimmed", "welch"))
    assert trimmed > welch + 0.25
    trimmed, welch = (
        error_rates(m, Grid(), SeedDistribution(4.0), 5.0, grids=120, seed=5).power for m in ("trimmed", "welch")
    )
    assert welch > trimmed
    assert choose_comparison(heavy, Grid(), grids=120)[0] == "trimmed"
    assert choose_comparison(SeedDistribution(4.0), Grid(), grids=120)[0] == "welch"


def test_the_seed_distribution_is_fitted_as_core_plus_outliers():
    from leaderboard.simulate import SeedDistribution, fit_seeds

    rng = np.random.default_rng(6)
    heavy = fit_seeds([SeedDistribution(**CONTAMINATED).draw(rng, 600) for _ in range(2)])
    assert heavy.sigma == pytest.approx(1.5, rel=0.15) and heavy.q == pytest.approx(0.15, abs=0.05)
    assert heavy.tau == pytest.approx(12.0, rel=0.2)
    normal = fit_seeds([rng.normal(40, 4.0, 600)])
    assert normal.q == 0 and normal.sigma == pytest.approx(4.0, rel=0.1)


def test_holm_rejects_step_down():
    assert stats.holm(np.array([0.01, 0.04, 0.03, 0.5]), 0.05).tolist() == [True, False, False, False]
    assert stats.holm(np.array([0.001, 0.012, 0.02, np.nan]), 0.05).tolist() == [True, True, True, False]


def test_the_simulated_resolution_is_where_power_reaches_80_percent():
    from leaderboard.simulate import Grid, SeedDistribution, error_rates, simulated_resolution

    grid, seeds = Grid(models=4, seeds=8), SeedDistribution(2.0)
    delta = simulated_resolution("welch", seeds, grid, grids=150)
    assert 0.65 <= error_rates("welch", grid, seeds, delta, grids=300, seed=9).power <= 0.95
    assert error_rates("welch", grid, seeds, delta * 0.6, grids=300, seed=9).power < 0.8


def test_a_power_table_plans_seeds_and_states_resolution_by_simulation():
    """Power rises with the difference and the seeds; the table's detectable difference and the
    seeds a difference needs read off it, and it round-trips through JSON."""
    from leaderboard.simulate import Grid, PowerTable, SeedDistribution, power_table

    grid = Grid(models=3, nets=10, splits=1, interaction_sd=0.5, noise_sd=1.0)
    table = power_table("welch", SeedDistribution(1.0), grid, [4, 12], [0.5, 2.0, 6.0], grids=60, seed=2)
    low, high = table.power[4], table.power[12]
    assert low[0.5] < low[6.0] and high[2.0] >= low[2.0] and high[6.0] > 0.9
    assert table.detectable(12) in (2.0, 6.0) and table.detectable(12) <= table.detectable(4)
    assert table.seeds_for(6.0) == 4 and table.seeds_for(0.5) is None
    assert PowerTable.from_json(table.to_json()) == table


def test_the_grids_variances_are_measured_from_runs_with_known_answers():
    """fit_grid recovers the per-net noise, the model x net interaction and the nets' spread of
    simulated runs (8 seeds x 2 splits of 20 nets, as the variance study's arms), whatever the
    seeds' own spread, which cancels; two models at least."""
    from dataclasses import replace

    from leaderboard.simulate import Grid, SeedDistribution, fit_grid, simulate_grid

    truth = Grid(models=2, seeds=8, nets=20, splits=2, net_sd=7.0, interaction_sd=2.0, noise_sd=5.0)
    rng = np.random.default_rng(11)
    fits = [fit_grid(simulate_grid(rng, truth, SeedDistribution(**CONTAMINATED)), models=8) for _ in range(200)]
    for name in ("noise_sd", "interaction_sd", "net_sd"):
        assert np.mean([getattr(f, name) for f in fits]) == pytest.approx(getattr(truth, name), rel=0.1), name
    assert (fits[0].models, fits[0].nets, fits[0].splits) == (8, 20, 2)  # the grid's design, the runs' nets
    with pytest.raises(ValueError, match="at least two models"):
        fit_grid(simulate_grid(rng, replace(truth, models=1), SeedDistribution(1.0)), models=8)


def test_the_power_table_simulates_the_noise_measured_in_the_arms_records(tmp_path):
    """benchmarks/power_table.py measures the per-net noise of the arm's records (SD 0.5 here) and
    ships it in the table it writes, for the grid's number of models."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from bench.config.schema import write_record

    from .conftest import board_records

    for r in board_records({"gcn": 0.0, "gat": 2.0, "gin": -1.0}, seeds=4):  # three models, as a grid has
        write_record(tmp_path / "arm", r)
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "power_table.py"
    argv = ["--results", str(tmp_path / "arm"), "--preset", "tiny", "--method", "welch", "--models", "3"]
    done = subprocess.run(
        [sys.executable, str(script), *argv, "--grids", "5", "--out", str(tmp_path / "power.json")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "measured: per-net noise SD 0.5" in done.stdout and "(12 seeds)" in done.stdout  # 3 models x 4 seeds
    grid = json.loads((tmp_path / "power.json").read_text())["grid"]
    assert grid["models"] == 3 and grid["noise_sd"] == pytest.approx(0.5, abs=0.1) and grid["nets"] == 8
