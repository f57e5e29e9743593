"""Property prediction (bench properties): fits with known answers, graph statistics, labels
shared across runs, the CLI end to end."""

import json

import numpy as np
import pytest
import torch

import bench.harness.properties as properties
from bench.commands.cli import main
from bench.harness.data import load_data
from bench.harness.properties import PROPERTIES, LabelRecipe, graph_features, kendall_fits, property_scores
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
    assert stats_[0].tolist()[:3] == [
        graphs[0].num_nodes,
        graphs[0].edge_index.shape[1],
        int(graphs[0].level.max()) + 1,
    ]
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
    assert "/" not in record["checkpoint"]  # a portable key, not a path
    labels = sorted((home / "properties" / ".labels").glob("*.json"))  # one file per source split
    assert len(labels) == 2 and [len(json.loads(f.read_text())["rows"]) for f in labels] == [4, 4]
    stamps = [f.stat().st_mtime_ns for f in labels]
    assert main(props) == 0 and [f.stat().st_mtime_ns for f in labels] == stamps  # read, not recomputed


def test_an_interrupted_labelling_keeps_what_it_saved_and_resumes(tmp_path, monkeypatch):
    calls = []

    def fake_labels(net, data, recipe, size, device, accuracy):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return {p: float(len(calls)) for p in PROPERTIES}

    monkeypatch.setattr(properties, "SAVE_EVERY", 2)
    monkeypatch.setattr(properties, "net_labels", fake_labels)
    data, recipe, device = load_data("digits"), LabelRecipe(), torch.device("cpu")
    with pytest.raises(KeyboardInterrupt):
        properties.labels(data, "digits", recipe, 8, tmp_path, device, progress=False)
    saved = {f.name.split("_")[1]: sorted(map(int, json.loads(f.read_text())["rows"])) for f in tmp_path.glob("*.json")}
    assert saved == {"val": [0, 1, 2, 3], "test": [0]}  # the 4 val nets and the test net computed before Ctrl-C
    rows, _, _ = properties.labels(data, "digits", recipe, 8, tmp_path, device, progress=False)
    assert [r["accuracy"] for r in rows] == [1, 2, 3, 4, 5, 7, 8, 9]  # the saved five read, not recomputed
    more, _, _ = properties.labels(data, "digits", recipe, 12, tmp_path, device, progress=False)
    assert [r["accuracy"] for r in more] == [1, 2, 3, 4, 10, 11, 5, 7, 8, 9, 12, 13]  # each net's label kept


def test_a_label_net_is_seeded_by_its_split_and_index_alone(tmp_path, monkeypatch):
    inits = {}

    def record_init(net, data, recipe, size, device, accuracy):
        inits[len(inits)] = next(net.parameters()).detach().flatten()[:5].clone()
        return {p: 0.0 for p in PROPERTIES}

    monkeypatch.setattr(properties, "net_labels", record_init)
    data, recipe, device = load_data("digits"), LabelRecipe(), torch.device("cpu")
    properties.labels(data, "digits", recipe, 4, tmp_path / "a", device, progress=False)  # val 0-1, test 0-1
    first = dict(inits)
    inits.clear()
    properties.labels(data, "digits", recipe, 6, tmp_path / "b", device, progress=False)  # val 0-2, test 0-2
    assert all(torch.equal(first[k], inits[k]) for k in (0, 1)) and torch.equal(first[2], inits[3])
    assert not torch.equal(first[0], first[2])


def test_inference_time_is_the_fastest_pass_after_a_warm_up(monkeypatch):
    clock = [0.0]

    class Scripted(torch.nn.Module):
        durations = iter([9.0, 0.5, 0.02, 0.3, 0.4, 0.6])  # the warm-up pass, then 5 timed ones

        def forward(self, x):
            clock[0] += next(self.durations)
            return x

    monkeypatch.setattr(properties.time, "perf_counter", lambda: clock[0])
    assert properties.inference_ms(Scripted(), torch.zeros(1)) == pytest.approx(20.0)


def test_timed_labels_are_kept_per_machine_and_trained_ones_shared(tmp_path, monkeypatch):
    trained = []

    def count_training(net, data, recipe, size, device, accuracy):
        trained.append(1)
        return {p: 1.0 for p in properties.TRAINED}

    monkeypatch.setattr(properties, "net_labels", count_training)
    data, recipe, device = load_data("digits"), LabelRecipe(), torch.device("cpu")
    first, _, _ = properties.labels(data, "digits", recipe, 4, tmp_path, device, progress=False)
    assert len(trained) == 4 and all(r["inference_ms"] > 0 for r in first)
    monkeypatch.setattr(properties, "hardware", lambda device: {"cpu": "another CPU"})
    again, _, _ = properties.labels(data, "digits", recipe, 4, tmp_path, device, progress=False)
    assert len(trained) == 4  # the trained labels read, only the times taken anew
    assert len(list((tmp_path / "inference").glob("*.json"))) == 4 and len(list(tmp_path.glob("*.json"))) == 2


def test_worker_processes_label_as_this_process_does(tmp_path, monkeypatch):
    data, device = load_data("digits"), torch.device("cpu")
    recipe = LabelRecipe(steps=2, max_steps=3, eval_images=60, eval_batch=60)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each worker: the same float sums
    try:
        alone, _, _ = properties.labels(data, "digits", recipe, 6, tmp_path / "a", device, progress=False)
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(properties, "inference_ms", lambda net, x: 123.0)  # reaches this process, not the workers
    pooled, _, _ = properties.labels(data, "digits", recipe, 6, tmp_path / "b", device, progress=False, workers=2)
    measured = [p for p in PROPERTIES if p != "inference_ms"]  # timed: differs from run to run
    assert [[r[p] for p in measured] for r in pooled] == [[r[p] for p in measured] for r in alone]
    assert [r["inference_ms"] for r in pooled] == [123.0] * 6  # timed here, after the workers, one at a time
    stored = {
        f.name.split("_")[1]: sorted(map(int, json.loads(f.read_text())["rows"]))
        for f in (tmp_path / "b").glob("*.json")
    }
    assert stored == {"val": [0, 1, 2], "test": [0, 1, 2]}


def test_workers_train_and_this_process_times_the_nets_after_them():
    missing = [("val", 0, PROPERTIES), ("val", 1, ("inference_ms",)), ("test", 0, properties.TRAINED)]
    assert properties.labelling_phases(missing, 1) == [(missing, 1)]
    trained, timed = properties.labelling_phases(missing, 2)
    assert trained == ([("val", 0, properties.TRAINED), ("test", 0, properties.TRAINED)], 2)
    assert timed == ([("val", 0, ("inference_ms",)), ("val", 1, ("inference_ms",))], 1)


def test_labels_only_computes_the_shared_labels_without_a_ghn(home, capsys):
    argv = ["properties", "--nets", "4", "--label-steps", "2", "--max-steps", "3", "--no-progress"]
    assert main([*argv, "--labels-only"]) == 0  # no GHN trained, no core named: none needed
    assert "labels of 4 nets" in capsys.readouterr().out
    labels = sorted((home / "properties" / ".labels").glob("*.json"))
    assert [len(json.loads(f.read_text())["rows"]) for f in labels] == [2, 2]
    assert not list((home / "properties").glob("*.json")) and not list(home.rglob("*.pt"))  # no record, no GHN


def test_bench_properties_needs_a_trained_ghn(home, capsys):
    assert main(["properties", "--gnn", "gin", "--nets", "8", "--no-progress"]) == 2  # a usage error, as bench eval
    assert "no trained GHN" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [(["--nets", "0"], "must be >= 1"), (["--target-loss", "-1"], "must be > 0")])
def test_bad_property_flags_are_clear_errors(home, argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["properties", "--gnn", "gcn", *argv])
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "lens, message",
    [
        (["--property-nets", "8"], "8 of the 8 property nets have no labels"),
        (["--property-nets", "2"], "the fits need at least 4 nets"),
    ],
)
def test_a_run_with_the_property_lens_checks_it_before_training(home, lens, message, capsys):
    argv = ["run", "--gnn", "gcn", "--split", "val", "--steps", "2", "--no-progress"]
    assert main([*argv, "--properties", str(home / "props"), *lens]) == 2
    assert message in capsys.readouterr().err and not list(home.rglob("*.pt"))  # nothing trained
