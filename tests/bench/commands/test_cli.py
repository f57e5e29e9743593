import json

import pytest
import torch

from bench.commands.cli import main
from bench.config.presets import get_preset
from deepnets1m.cache import GraphCache
from deepnets1m.splits import GENERATOR_VERSION
from tests.short_run import short_run


def test_generate_command(tmp_path, capsys):
    assert main(["generate", "--split", "val", "--n", "12", "--root", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "generated 12 val architectures" in out and "arch/s" in out
    assert len(GraphCache(tmp_path / f"val_g{GENERATOR_VERSION}_c10_i3_s32")) == 12
    assert main(["generate", "--split", "val", "--n", "12", "--root", str(tmp_path), "--no-progress"]) == 0
    assert "already cached" in capsys.readouterr().out


def test_generate_for_another_input_configuration(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    args = [
        "generate",
        "--split",
        "ood-bnfree",
        "--n",
        "3",
        "--num-classes",
        "100",
        "--in-channels",
        "1",
        "--image-size",
        "8",
        "--no-progress",
    ]
    assert main(args) == 0
    graph = GraphCache(tmp_path / "graphs" / f"ood-bnfree_g{GENERATOR_VERSION}_c100_i1_s8")[0]
    assert graph.param_shapes[-1] == (100,)


def test_unknown_split_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--split", "ood-huge"])
    assert exit_.value.code == 2
    assert "ood-deep" in capsys.readouterr().err


def test_out_of_range_n_is_reported(tmp_path, capsys):
    assert main(["generate", "--split", "val", "--n", "501", "--root", str(tmp_path)]) == 2
    assert "between 1 and 500" in capsys.readouterr().err


FAST = short_run(meta_batch="2", max_train_params="5e5")


def drop(flags: list[str], *names: str) -> list[str]:
    """`flags` without the named options and their values."""
    out, skip = [], False
    for f in flags:
        if skip:
            skip = False
        elif f in names:
            skip = True
        else:
            out.append(f)
    return out


TRAIN = drop(FAST, "--eval-nets", "--eval-images", "--sgd-steps", "--sgd-nets")  # train evaluates nothing
PREDICT = drop(FAST, "--eval-nets", "--sgd-steps", "--sgd-nets")  # predict scores one model on the eval images

# records of runs with overridden settings carry the preset's label, not its bare name
FAST_FIELDS = dict(
    steps=2,
    meta_batch=2,
    batch_size=16,
    hidden=16,
    eval_nets=2,
    eval_images=40,
    sgd_steps=1,
    sgd_nets=1,
    max_train_params=5e5,
)
LABEL = get_preset("tiny", **FAST_FIELDS).label


def test_run_trains_evaluates_and_records(home, capsys):
    assert main(["run", "--gnn", "gcn", "--split", "ood-wide", *FAST]) == 0
    out = capsys.readouterr().out
    assert "trained GHN (gcn/pyg, 2 steps" in out and "ood-wide: top-1 accuracy" in out
    assert "GHN (predicted, no training)" in out and "random init" in out and "1 SGD steps" in out
    # the output says what it measured, reads its table, and says what to run next
    assert f"ood-wide: its first 2 nets, each scored on 40 digits eval images (preset {LABEL}, seed 0)" in out
    assert "reading: predicted parameters score" in out and "against random init on the same 2 nets" in out
    assert "1 SGD steps from random init reach" in out and "on 1 of them, where the GHN scores" in out
    assert "next: `bench leaderboard` tables every run" in out
    record_path = home / "results" / f"gcn_pyg_ood-wide_digits_{LABEL}_0.json"
    record = json.loads(record_path.read_text())
    assert record["metrics"]["ghn"]["n"] == 2 and len(record["archs"]) == 2
    assert record["versions"]["torch"] and record["hardware"]["cores"] and record["ghn_params"] > 0
    assert record["core"] == {
        "name": "gcn",
        "view": "virtual",
        "layers": 4,
        "params": 4 * 2 * (16 * 16 + 16),
        "params_without_embeddings": 4 * 2 * (16 * 16 + 16),
        "protocol": "v1",
        "matched": "table",
    }
    # a second run on another split reuses the trained GHN
    assert main(["run", "--gnn", "gcn", "--split", "val", *FAST]) == 0
    assert "reused GHN" in capsys.readouterr().out


def test_ghn_variants_are_runs_of_their_own(home, capsys):
    """--ghn ghn1 trains GHN-1 (m = 1, no LayerNorm, no scaling, no virtual edges, one round)
    into its own record; --ghn mlp is the paper's one-MLP model; a clashing --gnn is refused."""
    at = FAST.index("--meta-batch")
    fast = FAST[:at] + FAST[at + 2 :]  # the variant's own meta-batch
    assert main(["run", "--ghn", "ghn1", "--gnn", "gatedgnn", "--split", "val", *fast]) == 0
    assert "trained GHN (gatedgnn/pyg (GHN-1), 2 steps" in capsys.readouterr().out
    label = get_preset("tiny", ghn="ghn1", **{k: v for k, v in FAST_FIELDS.items() if k != "meta_batch"}).label
    record = json.loads((home / "results" / f"ghn1_gatedgnn_pyg_val_digits_{label}_0.json").read_text())
    assert record["ghn"] == "ghn1" and record["preset_fields"]["meta_batch"] == 1
    assert (record["core"]["layers"], record["core"]["protocol"]) == (1, "v1")
    assert "/" not in record["checkpoint"]  # a portable key, not a path
    config = torch.load(home / "checkpoints" / f"{record['checkpoint']}.pt", weights_only=True)["config"]
    assert (config["layernorm"], config["scaling"], config["max_hops"]) == (False, False, 1)
    assert main(["run", "--ghn", "mlp", "--split", "val", *FAST]) == 0
    label = get_preset("tiny", ghn="mlp", **FAST_FIELDS).label
    record = json.loads((home / "results" / f"mlp_mlp_pyg_val_digits_{label}_0.json").read_text())
    assert (record["ghn"], record["gnn"], record["core"]["layers"]) == ("mlp", "mlp", 1)
    assert main(["run", "--ghn", "mlp", "--gnn", "gat", "--split", "val", *FAST]) == 2
    assert "drop --gnn gat" in capsys.readouterr().err
    assert main(["run", "--split", "val", *FAST]) == 2
    assert "--gnn is required" in capsys.readouterr().err


def test_ghn3_trains_and_scores_as_published(home, capsys):
    """--ghn ghn3 is GHN-3 as published: its 3-layer transformer core (FFN 4x, 8 heads), GHN-3's
    decoder and init, trained at any preset like every other model; --gnn other than its own is refused."""
    assert main(["run", "--ghn", "ghn3", "--split", "val", *FAST]) == 0
    label = get_preset("tiny", ghn="ghn3", **FAST_FIELDS).label
    record = json.loads((home / "results" / f"ghn3_transformer_pyg_val_digits_{label}_0.json").read_text())
    assert (record["ghn"], record["gnn"], record["core"]["layers"], record["core"]["protocol"]) == (
        "ghn3",
        "transformer",
        3,
        "v1",
    )
    config = torch.load(home / "checkpoints" / f"{record['checkpoint']}.pt", weights_only=True)["config"]
    assert (config["decoder"], config["ffn_mult"] if "ffn_mult" in config else 4) == ("ghn3", 4)
    assert main(["run", "--ghn", "ghn3", "--gnn", "gcn", "--split", "val", *FAST]) == 2
    assert "drop --gnn gcn" in capsys.readouterr().err


def test_eval_needs_a_trained_ghn(home, capsys):
    assert main(["eval", "--gnn", "gin", "--split", "val", *FAST]) == 2
    assert "train it first with `bench train --gnn gin" in capsys.readouterr().err
    assert main(["train", "--gnn", "gin", *TRAIN]) == 0
    assert main(["eval", "--gnn", "gin", "--split", "val", *FAST]) == 0
    record = json.loads((home / "results" / f"gin_pyg_val_digits_{LABEL}_0.json").read_text())
    assert record["training"]["steps"] == 2 and record["training"]["loss_tail"] > 0
    assert record["random_stream"] >= 2 and record["training"]["collapsed"] in (True, False)
    assert record["eval_cpu_seconds"] > 0  # the split's evaluation, timed in CPU seconds


def test_eval_of_a_ghn_saved_without_training_state(home, tmp_path, capsys):
    """A GHN written by GHN.save (no optimizer, no steps): evaluated, its record's training says nothing."""
    from gnn_zoo import GHN

    GHN("gcn", hidden=16, num_classes=10, layers=2).save(tmp_path / "bare.pt")
    assert main(["eval", "--gnn", "gcn", "--ckpt", str(tmp_path / "bare.pt"), "--split", "val", *FAST]) == 0
    record = json.loads((home / "results" / f"gcn_pyg_val_digits_{LABEL}_0.json").read_text())
    assert record["training"]["steps"] is None and record["training"]["loss_tail"] is None


def test_predict_torchvision_and_user_models(home, tmp_path, capsys):
    assert main(["predict", "--gnn", "mlp", "--model", "resnet18", *PREDICT]) == 0
    out = capsys.readouterr().out
    assert "resnet18: 11.17M parameters in 52 nodes" in out and "predicted" in out and "random init" in out
    user = tmp_path / "mynet.py"
    user.write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Sequential):\n"
        "    def __init__(self, num_classes):\n"
        "        super().__init__(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),\n"
        "                         nn.Flatten(), nn.Linear(8, num_classes))\n"
    )
    saved = tmp_path / "pred.pt"
    assert main(["predict", "--gnn", "mlp", "--model", f"{user}:Net", "--save", str(saved), *PREDICT]) == 0
    assert "parameters saved to" in capsys.readouterr().out
    assert set(torch.load(saved, weights_only=True)) >= {"0.weight", "5.bias"}


def test_predict_reports_unsupported_modules(home, tmp_path, capsys):
    user = tmp_path / "branchy.py"
    user.write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(64, 10)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x.flatten(1)) if x.sum() > 0 else self.fc(x.flatten(1) * 2)\n"
    )
    assert main(["predict", "--gnn", "mlp", "--model", f"{user}:Net", *PREDICT]) == 2
    assert "leaf_modules" in capsys.readouterr().err


def test_bad_options_are_clear(home, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--gnn", "gcnn", "--split", "val"])
    assert "unknown core 'gcnn'; choose from" in capsys.readouterr().err
    assert main(["run", "--gnn", "gcn", "--split", "val", "--dataset", "cifar10", *FAST]) == 2
    assert "cifar-10-python.tar.gz" in capsys.readouterr().err


def test_run_on_several_splits_writes_one_record_each(home, capsys):
    assert main(["run", "--gnn", "mlp", "--split", "val,ood-deep", *FAST]) == 0
    out = capsys.readouterr().out
    assert out.count("trained GHN") == 1 and "val: top-1" in out and "ood-deep: top-1" in out
    assert sorted(p.name for p in (home / "results").glob("*.json")) == [
        f"mlp_pyg_ood-deep_digits_{LABEL}_0.json",
        f"mlp_pyg_val_digits_{LABEL}_0.json",
    ]


def test_split_all_and_bad_split_names(capsys):
    from bench.commands.options import eval_splits, parse_splits

    assert parse_splits("all") == eval_splits() and "train" not in eval_splits()
    assert parse_splits("val, val,test") == ("val", "test")
    with pytest.raises(SystemExit):
        main(["run", "--gnn", "gcn", "--split", "val,ood-huge"])
    assert "unknown split ood-huge" in capsys.readouterr().err


def test_named_split_prints_each_net():
    from bench.commands.run_cmd import format_metrics

    rows = [
        {
            "arch": "resnet50",
            "ghn": 40.0,
            "ghn_top5": 70.0,
            "random_init": 10.0,
            "random_init_top5": 50.0,
            "sgd": 20.0,
            "sgd_top5": 60.0,
        },
        {"arch": "vit", "ghn": 12.5, "ghn_top5": 55.0, "random_init": 9.0, "random_init_top5": 48.0},
    ]
    metrics = {"ghn": {}, "ghn_top5": {}, "random_init": {}, "random_init_top5": {}, "sgd": {}, "sgd_top5": {}}
    lines = format_metrics("ood-predefined", metrics, 10, rows).splitlines()
    assert lines[2].split() == ["resnet50", "40.00", "/", "70.0", "10.00", "/", "50.0", "20.00", "/", "60.0"]
    assert lines[3].split() == ["vit", "12.50", "/", "55.0", "9.00", "/", "48.0", "-"]


def test_a_view_is_part_of_a_runs_identity(home, capsys):
    """--view undirected is another run (record, checkpoint, table row) than the core's default
    view; naming the default is the default run; a view the core cannot take fails before training."""
    assert main(["run", "--gnn", "gcn", "--view", "undirected", "--split", "val", *FAST]) == 0
    assert "trained GHN (gcn/pyg [undirected], 2 steps" in capsys.readouterr().out
    record = json.loads((home / "results" / f"gcn_pyg_val_digits_{LABEL}_0_undirected.json").read_text())
    assert record["view"] == "undirected" and record["core"]["view"] == "undirected"
    assert main(["run", "--gnn", "gcn", "--view", "virtual", "--split", "val", *FAST]) == 0
    assert "trained GHN (gcn/pyg, 2 steps" in capsys.readouterr().out  # virtual is gcn's default: the plain run
    assert json.loads((home / "results" / f"gcn_pyg_val_digits_{LABEL}_0.json").read_text())["view"] is None
    assert main(["run", "--gnn", "gatedgnn", "--view", "undirected", "--split", "val", *FAST]) == 2
    assert "the gatedgnn core cannot take the 'undirected' view; it takes sweep" in capsys.readouterr().err
    assert not list((home / "checkpoints").glob("gatedgnn*"))


@pytest.mark.parametrize("argv", [["--help"], ["leaderboard", "--format", "csv"]])
def test_help_and_leaderboard_do_not_import_torch(tmp_path, argv):
    """Only the chosen subcommand's module is imported: `bench --help` and `bench leaderboard`
    run without loading torch (about 2 s of imports)."""
    import os
    import subprocess
    import sys

    from bench.config.schema import write_record
    from tests.leaderboard.conftest import make_record

    write_record(tmp_path / "results", make_record())
    script = (
        "import sys\nfrom bench.commands.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    extra = ["--results", str(tmp_path / "results"), "--db", str(tmp_path / "db.sqlite")] if argv[0] != "--help" else []
    done = subprocess.run(
        [sys.executable, "-c", script, *argv, *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "GHNBENCH_HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert ("gcn/pyg" in done.stdout) if argv[0] == "leaderboard" else ("leaderboard" in done.stdout)


def test_plain_bench_prints_help_and_version_is_known(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: bench" in out and "sweep" in out and "leaderboard" in out
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("bench ")


def test_seeds_on_a_one_seed_command_points_to_seed_and_sweep(capsys):
    assert main(["run", "--gnn", "gcn", "--seeds", "3"]) == 2
    err = capsys.readouterr().err
    assert "pass --seed N" in err and "bench sweep --gnn ... --seeds N" in err


def test_ctrl_c_says_which_step_is_kept_in_one_line(home, capsys, monkeypatch):
    import bench.harness.train

    calls = []
    original = bench.harness.train.meta_loss

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(bench.harness.train, "meta_loss", interrupted)
    assert main(["train", "--gnn", "gcn", *TRAIN, "--steps", "6"]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]  # (a busy machine's thread warning may come first)
    assert err.startswith("bench train: interrupted: no checkpoint written yet (the first comes at step 50)")
    assert "run the same command again to resume" in err


def test_list_checkpoints_names_what_gnn_zoo_load_takes(home, capsys):
    assert main(["list-checkpoints"]) == 0
    assert "no checkpoints in" in capsys.readouterr().out
    assert main(["run", "--gnn", "gcn", "--split", "val", *FAST]) == 0
    capsys.readouterr()
    assert main(["list-checkpoints"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("  gcn_pyg_digits"))
    assert "gcn/pyg (virtual), 2 steps; digits, " in line and "seed 0; top-1 val" in line
    import gnn_zoo

    assert gnn_zoo.load(line.split(":")[0].strip()).config["core"] == "gcn"


@pytest.mark.skipif(
    not __import__("pathlib").Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="Debian's dataset-fashion-mnist is not installed (`apt-get install dataset-fashion-mnist`; "
    "tox installs it as root)",
)
def test_run_on_the_real_fashion_mnist(home, capsys):
    assert main(["run", "--gnn", "gcn", "--dataset", "fashion-mnist", "--split", "val", *FAST]) == 0
    record = json.loads((home / "results" / f"gcn_pyg_val_fashion-mnist_{LABEL}_0.json").read_text())
    assert record["metrics"]["ghn"]["n"] == 2 and record["metrics"]["random_init"]["mean"] < 30


def test_a_run_says_what_it_trains_and_reports_checkpoints_without_a_bar(home, capsys):
    assert main(["train", "--gnn", "gcn", *TRAIN]) == 0
    out = capsys.readouterr().out
    assert "training a new GHN (gcn/pyg, tiny-" in out and ": 2 steps)" in out and "step 2/2: loss" in out
    assert main(["train", "--gnn", "gcn", *TRAIN]) == 0
    assert "reusing the trained GHN (gcn/pyg, 2 steps)" in capsys.readouterr().out
    assert main(["train", "--gnn", "gcn", *TRAIN[:1], "4", *TRAIN[2:]]) == 0  # --steps 4: another GHN
    assert "training a new GHN" in capsys.readouterr().out


def test_help_groups_the_flags_and_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for title in ("model:", "data:", "budget (a preset, any field overridable):", "device and output:", "examples:"):
        assert title in out
    assert "bench run --gnn gatedgnn --split val" in out and "--eval-nets" in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--eval-nets" not in out and "--sgd-steps" not in out and "--steps" in out  # train evaluates nothing
    with pytest.raises(SystemExit):
        main(["profile", "--help"])
    assert "train_step[gnn]" in capsys.readouterr().out


def test_reference_rows_on_digits_say_they_add_nothing(home, capsys):
    assert main(["run", "--gnn", "gcn", "--split", "val", *FAST]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--reference"]) == 0
    assert "--reference added no rows: the papers publish cifar10" in capsys.readouterr().err


def test_the_reading_flags_a_collapsed_run():
    from bench.commands.run_cmd import reading

    rows = [{"ghn": 10.0, "random_init": 10.0, "sgd": 40.0}, {"ghn": 11.0, "random_init": 9.0}]
    metrics = {
        "ghn": {"mean": 10.5, "n": 2},
        "random_init": {"mean": 9.5, "n": 2},
        "sgd": {"mean": 40.0, "stderr": 0.0},
    }
    record = {"archs": rows, "metrics": metrics, "training": {"collapsed": True}}
    lines = reading(record, 10)
    assert lines[0].startswith("reading: predicted parameters score 10.5%, +1.0 points")
    assert "10 SGD steps from random init reach 40.0% on 1 of them, where the GHN scores 10.0%" in lines[0]
    assert lines[1].startswith("warning: this run collapsed")
    assert len(reading({**record, "training": {"collapsed": False}}, 10)) == 1


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["run", "--gnn", "gta", "--split", "val"], "did you mean gat?"),
        (["run", "--gnn", "gcn", "--split", "vla"], "did you mean val?"),
        (["run", "--gnn", "gcn", "--split", "val", "--preset", "rnak"], "did you mean rank?"),
        (["lederboard"], "did you mean leaderboard?"),
    ],
)
def test_a_mistyped_choice_is_one_line_with_a_suggestion(argv, hint, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and hint in err and len(err.strip().splitlines()) == 1 and "usage:" not in err
