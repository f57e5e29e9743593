"""Fine-tuning from predicted parameters (--finetune): curves, catch-up steps, shared random-init
curves, records, the CLI and the leaderboard's ftK tables."""

import json

import pytest
import torch

from bench import Evaluator
from bench.commands.cli import main
from bench.config.presets import FinetuneRecipe
from bench.harness.finetune import catch_up, catch_up_summary, with_catch_up
from leaderboard.render import render
from tests.short_run import short_run

FAST = dict(eval_nets=2, eval_images=40, sgd_steps=1, sgd_nets=1)
CLI_FAST = short_run(hidden=None)


def test_catch_up_reads_the_first_checkpoint_at_or_above_the_target():
    random_curve = {0: 10.0, 1: 20.0, 5: 50.0, 10: 80.0}
    assert catch_up(random_curve, 50.0) == 5 and catch_up(random_curve, 50.1) == 10
    assert catch_up(random_curve, 5.0) == 0 and catch_up(random_curve, 90.0) is None


def test_catch_up_summary_counts_nets_random_init_never_catches():
    recipe = FinetuneRecipe((10,), lr=0.05)
    assert recipe.grid() == (1, 2, 3, 5, 7, 10)
    rows = [
        with_catch_up({"ft10": target, "curve": {"1": 20.0, "5": 50.0, "10": 80.0}}, recipe, random_init=10.0)
        for target in (15.0, 60.0, 95.0)
    ]
    assert [r["ft10_catch_up"] for r in rows] == [1, 10, None] and "curve" not in rows[0]
    summary = catch_up_summary(rows, recipe)["10"]
    assert summary == {"median_steps": 10, "median_ratio": 1.0, "never": 1, "nets": 3}
    rows.append(dict(rows[-1]))  # two of four never: the median is beyond the largest K
    assert catch_up_summary(rows, recipe)["10"]["median_steps"] is None


def test_an_identity_predictor_fine_tunes_exactly_as_random_init(tmp_path):
    """A predictor that leaves the random init in place is random init: the same batches, optimiser
    and schedule give the same accuracy after every K, and random init catches up by step K."""
    evaluator = Evaluator(
        "val", dataset="digits", preset="tiny", results=tmp_path, finetune=(2, 5), finetune_nets=2, **FAST
    )
    record = evaluator(lambda m: None, name="identity")
    tuned = [row for row in record["archs"] if "ft2" in row]
    assert len(tuned) == 2 and all(
        row["ghn"] == row["random_init"] for row in record["archs"]
    )  # not the SGD baseline's net
    for row in tuned:
        for k in (2, 5):
            assert row[f"ft{k}"] == row[f"ft{k}_random"] and row[f"ft{k}_top5"] == row[f"ft{k}_random_top5"]
            assert row[f"ft{k}_catch_up"] is not None and row[f"ft{k}_catch_up"] <= k
    assert record["finetune"]["steps"] == [2, 5] and record["finetune"]["lr"] == 0.05
    assert set(record["metrics"]) >= {"ft2", "ft2_random", "ft5_top5", "ft5_random_top5"}


def test_random_init_curves_are_shared_and_noise_changes_only_the_ghn_init(tmp_path):
    def halved(module):  # a predictor: random init at half scale
        with torch.no_grad():
            for p in module.parameters():
                p.mul_(0.5)
        return module

    plain = Evaluator("val", preset="tiny", results=tmp_path, finetune=(3,), finetune_nets=1, **FAST)(halved, name="a")
    stores = sorted((tmp_path / ".baselines").glob("*.json"))
    assert len(stores) == 2  # the 0-step baselines and the random-init curves
    noisy = Evaluator(
        "val", preset="tiny", results=tmp_path, finetune=(3,), finetune_nets=1, finetune_noise=0.5, **FAST
    )(halved, name="b")
    assert sorted((tmp_path / ".baselines").glob("*.json")) == stores  # noise is not part of the random curves' key
    a, b = plain["archs"][0], noisy["archs"][0]
    assert a["ghn"] == b["ghn"] and a["ft3_random"] == b["ft3_random"] and noisy["finetune"]["noise"] == 0.5


def test_noise_scales_with_each_weight_and_spares_vectors():
    from bench.harness.finetune import add_noise

    def noised(seed, index):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(50, 40), torch.nn.Linear(40, 30))
        net[1].weight.data.mul_(10)
        before = [p.clone() for p in net.parameters()]
        add_noise(net, 0.5, seed, index)
        return [(p - q) for p, q in zip(net.parameters(), before)], before

    deltas, before = noised(0, 0)
    assert deltas[1].abs().max() == 0 and deltas[3].abs().max() == 0  # biases untouched
    for delta, weight in ((deltas[0], before[0]), (deltas[2], before[2])):
        assert abs(delta.std() / weight.std() - 0.5) < 0.05  # 0.5 x the weight's own std, whatever its scale
    assert torch.equal(noised(0, 0)[0][0], deltas[0]) and not torch.equal(noised(0, 1)[0][0], deltas[0])


def test_bench_run_with_finetune_prints_records_and_ranks_ftk(home, capsys):
    assert main(["run", "--gnn", "gcn", "--split", "val", "--finetune", "2,4", "--finetune-nets", "1", *CLI_FAST]) == 0
    out = capsys.readouterr().out
    assert "GHN init + 4 steps" in out and "random init + 4 steps" in out and "K =     4:" in out
    record = json.loads(next((home / "results").glob("gcn_pyg_val_*.json")).read_text())
    assert record["finetune"]["catch_up"]["4"]["nets"] == 1
    done = render(home / "db.sqlite", [home / "results"], None, with_plots=False, method="ft4")
    md = done.text["md"]
    assert "after 4 fine-tuning steps from predicted parameters" in md and "| random init |" in md
    assert "finetune 2,4, finetune nets 1" in md and "| random init catches up at (steps) |" in md


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--finetune", "0"], "step counts must be >= 1"),
        (["run", "--finetune", "ten"], "expected step counts separated by commas"),
        (["leaderboard", "--method", "ft"], "unknown method 'ft'"),
    ],
)
def test_bad_finetune_flags_are_clear_errors(home, argv, message, capsys):
    with pytest.raises(SystemExit) as failed:
        main(argv)
    assert failed.value.code == 2 and message in capsys.readouterr().err


def test_an_ftk_table_says_how_its_order_agrees_with_the_0_step_table(tmp_path):
    def scaled(factor):
        def predict(module):
            with torch.no_grad():
                for p in module.parameters():
                    p.mul_(factor)
            return module

        return predict

    for seed in (0, 1):
        evaluator = Evaluator("val", preset="tiny", results=tmp_path, seed=seed, finetune=(2,), finetune_nets=1, **FAST)
        for name, factor in (("same", 1.0), ("half", 0.5), ("zero", 0.0)):
            evaluator.save(evaluator(scaled(factor), name=name))
    md = render(tmp_path / "db.sqlite", [tmp_path], None, with_plots=False, method="ft2").text["md"]
    assert "Order against the 0-step table (predicted parameters, no training): Kendall τ = " in md
    assert "over 2 seed(s) of 3 models" in md


def test_fine_tuned_records_get_a_curve_plot(tmp_path):
    from leaderboard.plots import finetune_frame

    evaluator = Evaluator("val", preset="tiny", results=tmp_path / "results", finetune=(2, 4), finetune_nets=1, **FAST)
    record = evaluator(lambda m: None, name="same")
    evaluator.save(record)
    curves = finetune_frame([record], "top1")
    assert sorted(curves["steps"].unique()) == [0, 2, 4] and set(curves["model"]) == {"same (predictor)", "random init"}
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], tmp_path / "site", with_plots=True)
    assert any(path.name.endswith("_finetune.png") for path in done.files)


def test_catch_up_column_is_the_median_over_nets_with_beyond_the_largest_k():
    from leaderboard.table import catch_up_column

    def record(seed, steps):
        return {
            "gnn": "gcn",
            "backend": "pyg",
            "ghn": "ghn2",
            "view": None,
            "seed": seed,
            "core": {},
            "finetune": {"steps": [10]},
            "archs": [{"ft10_catch_up": s} for s in steps],
        }

    assert catch_up_column([record(0, [3, 5]), record(1, [7])], 10) == {"gcn/pyg": "5"}
    assert catch_up_column([record(0, [3, None]), record(1, [None])], 10) == {"gcn/pyg": "> 10"}


def test_per_net_detail_of_an_ftk_table_compares_with_random_init_fine_tuned_alike(tmp_path):
    from leaderboard.table import net_frame

    record = Evaluator("val", preset="tiny", results=tmp_path, finetune=(2,), finetune_nets=1, **FAST)(
        lambda m: None, name="same"
    )
    nets = net_frame([record], method="ft2", metric="top1")
    assert len(nets) == 1 and nets["acc"].iloc[0] == nets["random_init"].iloc[0] == record["archs"][0]["ft2_random"]
    assert nets["sgd"].isna().all()
