"""Random-init and SGD baselines are computed once per (data set, split, settings, seed) and
shared by every core's evaluation, with the same numbers."""

import json

import pytest

from bench.commands.cli import main
from bench.config.presets import get_preset
from bench.harness.baselines import BaselineStore, baseline_key
from bench.harness.data import load_data
from bench.harness.evaluate import evaluate
from gnn_zoo import GHN
from tests.bench.commands.test_cli import FAST


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


def test_a_second_core_reuses_the_first_ones_baselines(tmp_path, digits):
    preset = get_preset("tiny", eval_nets=3, eval_images=40, eval_batch=40, sgd_steps=2, sgd_nets=2)
    store = lambda: BaselineStore(tmp_path, baseline_key("digits", "val", preset, 1, "cpu"))  # noqa: E731
    first = store()
    a = evaluate(GHN("mlp", hidden=16), "val", digits, preset, seed=1, progress=False, baselines=first)
    assert (first.reused, first.computed) == (0, 3)
    second = store()
    gcn = GHN("gcn", hidden=16)
    b = evaluate(gcn, "val", digits, preset, seed=1, progress=False, baselines=second)
    assert (second.reused, second.computed) == (3, 0)
    alone = evaluate(gcn, "val", digits, preset, seed=1, progress=False)  # no store at all
    keys = ("random_init", "random_init_top5", "sgd", "sgd_top5")
    for ra, rb, rc in zip(a.rows, b.rows, alone.rows):
        assert [ra.get(k) for k in keys] == [rb.get(k) for k in keys] == [rc.get(k) for k in keys]
    assert [r["ghn"] for r in b.rows] == [r["ghn"] for r in alone.rows]  # b's nets were never randomly initialised


def test_other_seeds_or_settings_get_their_own_baselines(tmp_path):
    preset = get_preset("tiny")
    paths = {
        BaselineStore(tmp_path, baseline_key("digits", "val", p, s, "cpu")).path
        for p, s in [
            (preset, 0),
            (preset, 1),
            (get_preset("tiny", eval_images=100), 0),
            (get_preset("tiny", sgd_steps=3), 0),
        ]
    }
    assert len(paths) == 4
    same = BaselineStore(tmp_path, baseline_key("digits", "val", get_preset("tiny", steps=5), 0, "cpu:0")).path
    assert same in paths  # training settings and the device index do not matter


def test_runs_record_where_their_baselines_came_from(home, capsys):
    assert main(["run", "--gnn", "mlp", "--split", "val", *FAST]) == 0
    assert main(["run", "--gnn", "gcn", "--split", "val", *FAST]) == 0
    records = {p.name.split("_")[0]: json.loads(p.read_text()) for p in (home / "results").glob("*.json")}
    assert records["mlp"]["baselines"]["computed"] == 2 and records["gcn"]["baselines"]["reused"] == 2
    assert records["mlp"]["archs"][0]["random_init"] == records["gcn"]["archs"][0]["random_init"]
    assert main(["leaderboard", "--results", str(home / "results"), "--format", "csv"]) == 0
    assert "skipped" not in capsys.readouterr().err  # the .baselines folder holds no records
