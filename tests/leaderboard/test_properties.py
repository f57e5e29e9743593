import json

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from leaderboard.properties import GRAPH_ROW, property_table, read_records, tau_frame


def record(gnn: str, seed: int, tau: float, graph: float, ghn: str = "ghn2") -> dict:
    score = {"ghn": {"ridge": {"tau": tau}, "svr": {"tau": tau}}, "graph": {"ridge": {"tau": graph}, "svr": {"tau": graph}}}
    return {"kind": "properties", "gnn": gnn, "backend": "pyg", "ghn": ghn, "dataset": "digits", "preset": "rank",
            "seed": seed, "nets": 100, "scores": {"accuracy": score, "convergence": score}}


def test_the_table_orders_models_marks_those_beating_graph_statistics_and_ends_with_them(tmp_path):
    records = [record("gatedgnn", s, 0.40 + 0.01 * s, 0.15) for s in range(3)]
    records += [record("gcn", s, 0.15 + (0.02, -0.03, 0.01)[s], 0.15) for s in range(3)]  # at graph level
    records += [record("mlp", s, 0.30, 0.15, ghn="mlp") for s in range(1)]  # one seed: never tested
    for i, r in enumerate(records):
        (tmp_path / f"r{i}.json").write_text(json.dumps(r))
    (tmp_path / "other.json").write_text(json.dumps({"schema": "a result record"}))
    found = read_records([tmp_path])
    assert len(found) == 7
    table = property_table(tau_frame(found, "svr"))
    assert list(table["model"]) == ["gatedgnn/pyg", "mlp/pyg (paper's MLP)", "gcn/pyg", GRAPH_ROW]
    assert table.loc[0, "accuracy"] == "**+0.41 ± 0.01**"
    assert not table.loc[1, "accuracy"].startswith("**") and not table.loc[2, "accuracy"].startswith("**")
    assert list(table["seeds"]) == ["3", "1", "3", ""] and table.loc[3, "accuracy"] == "+0.15"


def test_bench_leaderboard_prints_the_property_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    (tmp_path / "props").mkdir()
    (tmp_path / "results").mkdir()  # no accuracy records: the property table alone
    for s in range(2):
        (tmp_path / "props" / f"{s}.json").write_text(json.dumps(record("gat", s, 0.3, 0.1)))
    assert main(["leaderboard", "--properties", str(tmp_path / "props")]) == 0
    out = capsys.readouterr().out
    assert "digits, preset rank, 100 nets: property prediction" in out and "| gat/pyg |" in out


def simulate(effect: float, sims: int, models: int = 4, seeds: int = 5, sd: float = 0.05) -> float:
    """Share of simulated tables in which some model is marked better than graph statistics on
    accuracy, when every model's tau exceeds graph statistics' by `effect` (paired noise `sd`)."""
    rng = np.random.default_rng(0)
    marked = 0
    for _ in range(sims):
        graph = 0.15 + rng.normal(0, 0.02, seeds)  # the same nets and halvings for every model of a seed
        rows = [{"model": f"m{m}", "seed": s, "property": "accuracy", "graph": graph[s],
                 "ghn": graph[s] + effect + rng.normal(0, sd)} for m in range(models) for s in range(seeds)]
        table = property_table(pd.DataFrame(rows))
        marked += any(cell.startswith("**") for cell in table["accuracy"])
    return marked / sims


def test_under_the_null_a_model_is_marked_rarely_and_a_real_gain_usually():
    assert simulate(0.0, 100) <= 0.07  # family-wise false positives, Holm over 4 models
    assert simulate(0.10, 30) >= 0.8  # a gain of 2 noise SDs, 5 seeds


@pytest.mark.slow
def test_the_property_tests_size_and_power_thoroughly():
    assert simulate(0.0, 1000) <= 0.06
    assert simulate(0.10, 300) >= 0.8
