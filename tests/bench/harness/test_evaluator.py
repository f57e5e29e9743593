"""bench.Evaluator scores any predictor as bench scores a GHN, and its record is a leaderboard row."""

import torch

from bench import Evaluator
from bench.config.schema import read_record
from leaderboard.render import render

FAST = dict(eval_nets=2, eval_images=40, sgd_steps=1, sgd_nets=1)


def test_a_trivial_predictor_gets_a_record_and_a_row(tmp_path):
    evaluator = Evaluator("val", dataset="digits", preset="tiny", results=tmp_path / "results", **FAST)
    calls = []

    def zeros(module):  # a predictor: every weight 0 (the nets then predict one class)
        calls.append(type(module).__name__)
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
        return module

    record = evaluator(zeros, name="zeros")
    assert len(calls) == 2 and record["metrics"]["ghn"]["n"] == 2 and record["ghn"] == "predictor"
    assert record["metrics"]["ghn"]["mean"] < record["metrics"]["random_init"]["mean"] + 15
    path = evaluator.save(record)
    assert read_record(path)["gnn"] == "zeros"
    in_place = evaluator(lambda m: None, name="random-init")  # returns None: in place (here: untouched)
    assert abs(in_place["metrics"]["ghn"]["mean"] - in_place["metrics"]["random_init"]["mean"]) < 1e-9
    evaluator.save(in_place)
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]
    assert "| zeros (predictor) |" in md and "| random-init (predictor) |" in md
