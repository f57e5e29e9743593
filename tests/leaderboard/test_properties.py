import json

import numpy as np
import pandas as pd
import pytest

from bench.commands.cli import main
from leaderboard.properties import GRAPH_ROW, property_summary, property_table, property_tables, read_records, tau_frame


def record(gnn: str, seed: int, tau: float, graph: float, ghn: str = "ghn2") -> dict:
    score = {
        "ghn": {"ridge": {"tau": tau}, "svr": {"tau": tau}},
        "graph": {"ridge": {"tau": graph}, "svr": {"tau": graph}},
    }
    return {
        "kind": "properties",
        "gnn": gnn,
        "backend": "pyg",
        "ghn": ghn,
        "dataset": "digits",
        "preset": "rank",
        "seed": seed,
        "nets": 100,
        "scores": {"accuracy": score, "convergence": score},
    }


def test_the_table_orders_models_marks_those_beating_graph_statistics_and_ends_with_them(tmp_path):
    records = [record("gatedgnn", s, 0.40 + 0.01 * s, 0.15) for s in range(3)]
    records += [record("gcn", s, 0.15 + (0.02, -0.03, 0.01)[s], 0.15) for s in range(3)]  # at graph level
    records += [record("mlp", s, 0.30, 0.15, ghn="mlp") for s in range(1)]  # one seed: never tested
    for i, r in enumerate(records):
        (tmp_path / f"r{i}.json").write_text(json.dumps(r))
    (tmp_path / "other.json").write_text(json.dumps({"schema": "a result record"}))
    found = read_records([tmp_path])
    assert len(found) == 7
    table = property_table(property_summary(tau_frame(found, "svr"))).reset_index()
    assert list(table["model"]) == ["gatedgnn/pyg", "mlp/pyg (paper's MLP)", "gcn/pyg", GRAPH_ROW]
    assert table.loc[0, "accuracy"] == "**+0.41 ± 0.01**"
    assert not table.loc[1, "accuracy"].startswith("**") and not table.loc[2, "accuracy"].startswith("**")
    assert list(table["seeds"]) == ["3", "1", "3", ""] and table.loc[3, "accuracy"] == "+0.15"
    long = property_tables(found).summary.set_index(["model", "property"])
    assert long.loc[("gatedgnn/pyg", "accuracy"), "better_than_graph"]
    assert (
        long.loc[("gatedgnn/pyg", "accuracy"), "p_holm"] <= 0.05
        and long.loc[("gatedgnn/pyg", "accuracy"), "seeds"] == 3
    )
    assert np.isnan(long.loc[("mlp/pyg (paper's MLP)", "accuracy"), "p"])  # one seed: not tested
    assert not long.loc[("gcn/pyg", "convergence"), "better_than_graph"]


def test_bench_leaderboard_prints_the_property_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    (tmp_path / "props").mkdir()
    (tmp_path / "results").mkdir()  # no accuracy records: the property table alone
    for s in range(2):
        (tmp_path / "props" / f"{s}.json").write_text(json.dumps(record("gat", s, 0.3, 0.1)))
    assert main(["leaderboard", "--properties", str(tmp_path / "props")]) == 0
    out = capsys.readouterr().out
    assert "digits, preset rank, 100 nets: property prediction" in out and "| gat/pyg |" in out


def test_the_site_and_its_files_carry_the_property_table(tmp_path, write, capsys):
    """With accuracy records too, --out writes the property table into index.html, leaderboard.md
    and properties.csv (one row per model and property)."""
    write(gnn="gat")
    (tmp_path / "props").mkdir()
    for s in range(2):
        (tmp_path / "props" / f"{s}.json").write_text(json.dumps(record("gat", s, 0.3 + 0.01 * s, 0.1)))
    assert (
        main(
            [
                "leaderboard",
                "--results",
                str(tmp_path / "results"),
                "--db",
                str(tmp_path / "db.sqlite"),
                "--properties",
                str(tmp_path / "props"),
                "--out",
                str(tmp_path / "site"),
                "--no-plots",
            ]
        )
        == 0
    )
    assert "property prediction" in capsys.readouterr().out
    site = tmp_path / "site"
    assert "property prediction from the GHN" in (site / "index.html").read_text()
    assert "| gat/pyg | **+0.30" in (site / "leaderboard.md").read_text()  # 2 seeds, +0.2 over graph statistics
    long = pd.read_csv(site / "properties.csv")
    assert len(long) == 2 and set(long["property"]) == {"accuracy", "convergence"} and "gain" not in long
    assert long["seeds"].tolist() == [2, 2] and long["tau"].round(3).tolist() == [0.305, 0.305]


def test_the_best_group_holds_the_best_model_and_those_not_significantly_worse():
    rng = np.random.default_rng(1)
    records = [
        record(gnn, s, tau + rng.normal(0, 0.01), 0.15)
        for gnn, tau in (("gatedgnn", 0.55), ("gat", 0.545), ("gin", 0.45))
        for s in range(5)
    ]
    long = property_summary(tau_frame(records, "svr")).set_index(["model", "property"])
    assert long.loc[("gatedgnn/pyg", "accuracy"), "best_group"] and long.loc[("gat/pyg", "accuracy"), "best_group"]
    assert not long.loc[("gin/pyg", "accuracy"), "best_group"]
    table = property_table(long.reset_index()).reset_index()
    assert table.loc[0, "accuracy"].endswith(" †") and not table.loc[2, "accuracy"].endswith(" †")
    few = property_summary(tau_frame(records[:4] + records[5:], "svr"))  # a model with 4 seeds: no group marked
    assert not few["best_group"].any()


def simulate_best_group(gap: float, sims: int, models: int = 4, seeds: int = 6, sd: float = 0.02) -> float:
    """Share of simulated tables whose accuracy best group leaves some model out, when one model's
    tau exceeds the others' by `gap` (seed noise `sd`, independent across models)."""
    rng = np.random.default_rng(0)
    split = 0
    for _ in range(sims):
        rows = [
            {
                "table": "t",
                "model": f"m{m}",
                "seed": s,
                "property": "accuracy",
                "graph": 0.3,
                "ghn": 0.5 + (gap if m == 0 else 0.0) + rng.normal(0, sd),
            }
            for m in range(models)
            for s in range(seeds)
        ]
        split += not property_summary(pd.DataFrame(rows))["best_group"].all()
    return split / sims


def test_the_best_group_rarely_splits_equal_models_and_usually_splits_off_a_real_gap():
    assert simulate_best_group(0.0, 100) <= 0.08  # family-wise, Games-Howell over 4 models
    assert simulate_best_group(0.05, 30) >= 0.8  # 2.5 seed SDs, 6 seeds


def simulate(effect: float, sims: int, models: int = 4, seeds: int = 5, sd: float = 0.05) -> float:
    """Share of simulated tables in which some model is marked better than graph statistics on
    accuracy, when every model's tau exceeds graph statistics' by `effect` (paired noise `sd`)."""
    rng = np.random.default_rng(0)
    marked = 0
    for _ in range(sims):
        graph = 0.15 + rng.normal(0, 0.02, seeds)  # the same nets and halvings for every model of a seed
        rows = [
            {
                "table": "t",
                "model": f"m{m}",
                "seed": s,
                "property": "accuracy",
                "graph": graph[s],
                "ghn": graph[s] + effect + rng.normal(0, sd),
            }
            for m in range(models)
            for s in range(seeds)
        ]
        marked += property_summary(pd.DataFrame(rows))["better_than_graph"].any()
    return marked / sims


def test_under_the_null_a_model_is_marked_rarely_and_a_real_gain_usually():
    assert simulate(0.0, 100) <= 0.07  # family-wise false positives, Holm over 4 models
    assert simulate(0.10, 30) >= 0.8  # a gain of 2 noise SDs, 5 seeds


@pytest.mark.slow
def test_the_property_tests_size_and_power_thoroughly():
    assert simulate(0.0, 1000) <= 0.06
    assert simulate(0.10, 300) >= 0.8
    assert simulate_best_group(0.0, 1000) <= 0.06
    assert simulate_best_group(0.05, 200) >= 0.8
