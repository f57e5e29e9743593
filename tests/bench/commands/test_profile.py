import json

import pytest
import torch

from bench.commands.cli import main
from bench.harness.profiling import REFERENCES, Measurement, format_table, time_rounds
from bench.harness.workloads import (
    PHASE_STEPS,
    PHASES,
    Reference,
    Round,
    format_phases,
    grid_round,
    peak_memory_resnet50,
    train_step_phases,
)


def test_profile_prints_the_figures_against_the_reference(tmp_path, capsys):
    out_json = tmp_path / "profile.json"
    args = [
        "profile",
        "--gnn",
        "mlp",
        "--only",
        "generate,predict_resnet50,core_forward",
        "--repeat",
        "2",
        "--no-memory",
        "--no-progress",
        "--json",
        str(out_json),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "generate" in out and "predict_resnet50[mlp/pyg]" in out and "core_forward[mlp/pyg]" in out
    assert "train_step" not in out  # --only keeps to the named workloads
    rows = {r["name"]: r for r in json.loads(out_json.read_text())}
    assert rows["generate"]["unit"] == "arch/s" and rows["generate"]["value"] > 0
    assert len(rows["predict_resnet50[mlp/pyg]"]["seconds"]) == 2
    assert rows["predict_resnet50[mlp/pyg]"]["ratio"] == pytest.approx(
        REFERENCES["predict_resnet50"].value / rows["predict_resnet50[mlp/pyg]"]["value"]
    )


def test_unknown_workload_lists_the_names(capsys):
    assert main(["profile", "--only", "predikt", "--no-memory"]) == 2
    err = capsys.readouterr().err
    assert "no workload starts with predikt" in err and "train_step[gatedgnn]" in err


def test_phases_refuse_a_workload_list(capsys):
    assert main(["profile", "--phases", "--only", "generate"]) == 2
    assert "drop --only" in capsys.readouterr().err


def test_ratio_and_target_for_rates_and_times():
    rate = Measurement("train_step", [4.0, 8.0, 6.0], 8, "arch/s", Reference(0.94, "arch/s", 2.0, True))
    assert rate.value == pytest.approx(8 / 6.0) and rate.ratio == pytest.approx(8 / 6.0 / 0.94)
    time_ = Measurement("predict_resnet50", [0.05, 0.04, 0.06], 1, "ms", Reference(280.0, "ms", 3.0, False))
    assert time_.value == pytest.approx(50.0) and time_.ratio == pytest.approx(5.6)
    table = format_table([rate, time_])
    assert ">= 2x: NOT met" in table and ">= 3x: met" in table


def test_time_rounds_warms_up_first():
    calls = []
    assert len(time_rounds(Round(lambda: calls.append(1)), repeat=3, warmup=2)) == 3 and len(calls) == 5


def test_peak_memory_of_predicting_resnet50_is_measured_in_a_fresh_process():
    mib = peak_memory_resnet50("mlp")
    assert 98 < mib < 4096  # at least ResNet-50's own 25.6M float32 parameters


@pytest.mark.parametrize("step", ["ghn2", "tiny"])
def test_training_step_phases_cover_the_step(step):
    shape = {**PHASE_STEPS[step], "meta_batch": 2, "max_params": 5e4}
    phases = train_step_phases("mlp", torch.device("cpu"), amp=False, repeat=2, **shape)
    assert tuple(phases) == PHASES
    assert all(phases[p] > 0 for p in PHASES)
    table = format_phases("mlp", phases, meta_batch=2)
    assert f"{2 / sum(phases.values()):.2f} arch/s" in table and "nets backward" in table


@pytest.mark.slow
def test_profile_phases_cli_writes_json(tmp_path, capsys):
    out_json = tmp_path / "phases.json"
    assert main(["profile", "--phases", "--gnn", "mlp", "--amp", "off", "--repeat", "1", "--json", str(out_json)]) == 0
    assert "training step phases [mlp]" in capsys.readouterr().out
    saved = json.loads(out_json.read_text())
    assert saved["amp"] is False and set(saved["phases"]["mlp"]) == set(PHASES)


@pytest.mark.parametrize("parallel", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_the_profiled_grid_runs_a_local_sweep_from_empty_folders(tmp_path, parallel):
    grid = (
        "--gnn",
        "mlp",
        "--split",
        "val",
        "--seeds",
        "2",
        "--steps",
        "2",
        "--hidden",
        "16",
        "--eval-nets",
        "1",
        "--eval-images",
        "20",
        "--sgd-steps",
        "0",
    )
    round_ = grid_round(parallel, tmp_path, main, grid)
    round_.run()
    round_.run()  # a second round starts from empty folders again: it trains, it does not reuse
    homes = sorted(p.name for p in tmp_path.iterdir())
    assert len(homes) == 2 and all(
        len([p for p in (tmp_path / h / "results").glob("*.json") if p.name != "manifest.json"]) == 2 for h in homes
    )
    assert all(len(list((tmp_path / h / "checkpoints").glob("*.pt"))) == 2 for h in homes)
