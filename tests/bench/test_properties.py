"""Property prediction (bench properties): fits with known answers, graph statistics, labels
shared across runs, the CLI end to end."""
import json

import numpy as np
import pytest

from bench.cli import main
from bench.properties import PROPERTIES, graph_features, kendall_fits, property_scores
from deepnets1m import sample, spec_graph


def test_kendall_fits_recover_a_known_function_and_not_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    known = kendall_fits(x, 3 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=200))
    assert known["ridge"]["tau"] > 0.85 and known["svr"]["tau"] > 0.8 and known["ridge"]["fits"] == 5
    noise = kendall_fits(x, rng.normal(size=200))
    assert abs(noise["ridge"]["tau"]) < 0.15 and abs(noise["svr"]["tau"]) < 0.15


def test_graph_statistics_rank_a_property_that_is_a_function_of_the_graph():
    graphs = [spec_graph(sample("val", i), 10, 1, 8) for i in range(24)]
    stats_ = np.stack([graph_features(g) for g in graphs])
    assert stats_[0].tolist()[:3] == [graphs[0].num_nodes, graphs[0].edge_index.shape[1], int(graphs[0].level.max()) + 1]
    rows = [{p: float(g.num_nodes) for p in PROPERTIES} for g in graphs]  # every label: the node count
    scores = property_scores(np.random.default_rng(0).normal(size=(24, 4)), stats_, rows)
    assert scores["accuracy"]["graph"]["ridge"]["tau"] > 0.8 > abs(scores["accuracy"]["ghn"]["ridge"]["tau"]) + 0.4


def test_bench_properties_end_to_end_with_shared_labels(home, capsys):
    fast = ["--gnn", "gcn", "--steps", "2", "--meta-batch", "1", "--batch-size", "16", "--no-progress"]
    assert main(["train", *fast]) == 0
    props = ["properties", *fast, "--nets", "8", "--label-steps", "2", "--max-steps", "3"]
    assert main(props) == 0
    out = capsys.readouterr().out
    assert "GHN embeddings" in out and "noisy_accuracy" in out
    record = json.loads(next((home / "properties").glob("ghn2_gcn_pyg_digits_*_n8.json")).read_text())
    assert set(record["scores"]) == set(PROPERTIES) and "sd" in record["scores"]["convergence"]["graph"]["svr"]
    labels = list((home / "properties" / ".labels").glob("*.json"))
    assert len(labels) == 1 and len(json.loads(labels[0].read_text())["rows"]) == 8
    stamp = labels[0].stat().st_mtime_ns
    assert main(props) == 0 and labels[0].stat().st_mtime_ns == stamp  # the labels are read, not recomputed


def test_bench_properties_needs_a_trained_ghn(home, capsys):
    assert main(["properties", "--gnn", "gin", "--nets", "8", "--no-progress"]) == 2  # a usage error, as bench eval
    assert "no trained GHN" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [(["--nets", "0"], "must be >= 1"), (["--target-loss", "-1"], "must be > 0")])
def test_bad_property_flags_are_clear_errors(home, argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["properties", "--gnn", "gcn", *argv])
    assert message in capsys.readouterr().err
