"""`bench leaderboard --arms`: training recipes compared by the variance study's rule."""

import dataclasses
import json

import numpy as np
import pytest

from bench.commands.cli import main
from bench.config.presets import PRESETS, extends, get_preset
from bench.config.schema import write_record
from leaderboard.arms import (
    adopted,
    against,
    arm_table,
    arms_of,
    changed_fields,
    combination,
    combined_name,
    helping_arms,
    plain_arm,
)

from .conftest import make_record


def arm_records(label_fields: dict, scores: dict[str, list[float]], collapsed: int = 0) -> list[dict]:
    """Records of one arm: per model, a seed's score on both splits, the first `collapsed` seeds flagged."""
    preset = get_preset("rank", **label_fields)
    records = []
    for gnn, seeds in scores.items():
        for seed, score in enumerate(seeds):
            for split in ("val", "ood-deep"):
                r = make_record(gnn, split, seed, mean=score, preset=preset.label)
                r.update(
                    preset_fields=dataclasses.asdict(preset),
                    train_seconds=600.0,
                    training={"collapsed": seed < collapsed},
                )
                records.append(r)
    return records


RNG = np.random.default_rng(0)
PLAIN = {"gcn": [45, 47, 44, 46, 43, 58, 45, 46], "gatedgnn": [44, 46, 23, 45, 47, 46, 44, 45]}  # heavy tails
TIGHT = {m: list(np.array(s) * 0 + 46 + RNG.normal(0, 1, 8)) for m, s in PLAIN.items()}


def test_arms_are_named_by_what_they_change_and_compared_with_plain():
    records = arm_records({}, PLAIN) + arm_records({"decoder_init": "hyperfan"}, TIGHT)
    arms = arms_of(records)
    assert sorted(a.what for a in arms.values()) == ["decoder init hyperfan", "plain"]
    plain = arms["rank"]
    tight = next(a for a in arms.values() if a is not plain)
    assert plain.outliers() == 2 and tight.outliers() == 0  # the 58 and the 23
    assert tight.pooled_sd()[0] < 1.5 < plain.pooled_sd()[0]
    diff, p_lower, p_spread = against(tight, plain)
    assert diff == pytest.approx(np.mean([np.mean(TIGHT[m]) - np.mean(PLAIN[m]) for m in PLAIN]))
    assert p_lower > 0.05 and p_spread < 0.05
    text = arm_table(records)
    assert "| decoder init hyperfan |" in text and "| plain |" in text
    assert "Decision by the rule: decoder init hyperfan" in text


def test_a_lower_mean_is_not_adopted_and_short_arms_leave_the_decision_pending():
    low = {m: [x - 10 for x in s] for m, s in TIGHT.items()}
    records = arm_records({}, PLAIN) + arm_records({"lr": 4e-3}, low)
    assert "Decision by the rule: plain" in arm_table(records)
    short = arm_records({}, PLAIN) + arm_records({"lr": 1e-3}, {m: s[:4] for m, s in TIGHT.items()})
    assert "Decision pending: lr 0.001 (4)" in arm_table(short)
    stopped = arm_records({}, PLAIN) + arm_records({"steps": 2400}, {m: s[:4] for m, s in low.items()})
    assert "Stopped early" in arm_table(stopped) and "steps 2400" in arm_table(stopped)


def test_spreads_within_a_tenth_of_a_point_tie_and_the_cheaper_arm_is_adopted():
    """The rule's step 4: ties within 0.1 SD go to the cheaper arm (2.64 against 2.56 ties, though
    rounding would part them; 2.72 does not)."""
    from leaderboard.arms import Arm

    shape = np.array([-1.5, -1, -0.5, 0, 0, 0.5, 1, 1.5])
    shape /= shape.std(ddof=1)  # 8 seeds of SD 1

    def arm(name: str, sd: float, minutes: float) -> Arm:
        return Arm(name, name, {m: 46 + sd * shape for m in ("a", "b")}, 0, minutes, np.array([]))

    plain = arm("plain", 6.0, 10.0)
    tight, cheap = arm("lr 0.001, steps 2400", 2.56, 21.0), arm("lr 0.001", 2.64, 10.0)
    assert adopted({a.name: a for a in (plain, tight, cheap)}, plain) is cheap
    wider = arm("lr 0.001", 2.72, 10.0)
    assert adopted({a.name: a for a in (plain, tight, wider)}, plain) is tight


def test_cost_is_cpu_time_where_a_record_has_it():
    from leaderboard.arms import training_minutes

    assert training_minutes({"train_seconds": 600.0, "training": {"cpu_seconds": 300.0}}) == 5.0
    assert training_minutes({"train_seconds": 600.0, "training": {}}) == 10.0


def test_the_plateau_ends_where_the_loss_first_drops_below_chance():
    from bench.config.schema import chance_loss
    from leaderboard.arms import plateau_end

    def training(curve: list[float]) -> dict:
        return {"curve": {"every": 50, "median_loss": curve}}

    ten, hundred = chance_loss("digits"), chance_loss("cifar100")  # ln 10, ln 100
    assert plateau_end(training([2.30, 2.29, 2.15, 1.5]), ten) == 150  # 2.15 < 0.95 ln 10 within steps 101-150
    assert plateau_end(training([4.1, 2.31, 2.29, 2.28]), ten) == float("inf")  # from above down to chance, no further
    assert plateau_end(training([4.6, 4.3]), hundred) == 100  # chance is ln(classes): 4.6 with 100
    assert np.isnan(plateau_end({}, ten))  # a record without a curve says nothing


def test_the_arms_table_reports_each_arms_plateau():
    records = arm_records({}, PLAIN) + arm_records({"decoder_init": "hyperfan"}, TIGHT)
    for r in records:
        stuck = r["preset"] != "rank" and r["seed"] < 5  # most hyperfan runs never leave chance
        r["training"]["curve"] = {"every": 50, "median_loss": [2.3] * 24 if stuck else [2.3] * (3 + r["seed"]) + [1.0]}
    rows = {line.split(" | ")[0].strip("| "): line for line in arm_table(records).splitlines() if line.startswith("| ")}
    assert "plateau ends (step: median, latest)" in rows["arm"]
    assert "| 375, 550 |" in rows["plain"]  # seed s leaves chance by step 200 + 50 s
    assert "| never, never |" in rows["decoder init hyperfan"]


def test_arms_out_writes_the_table_and_every_seeds_curve_by_arm(tmp_path, capsys):
    records = arm_records({}, PLAIN) + arm_records({"decoder_init": "ghn3"}, TIGHT)
    for r in records[:4]:  # two seeds keep their curve; a curve-less record is left out of the figure
        r["training"]["curve"] = {"every": 50, "median_loss": [2.3, 2.1, 1.8]}
    for r in records:
        write_record(tmp_path / "results", r)
    argv = ["leaderboard", "--results", str(tmp_path / "results"), "--preset", "rank", "--arms"]
    assert main([*argv, "--db", str(tmp_path / "db"), "--out", str(tmp_path / "site")]) == 0
    table = capsys.readouterr().out
    assert (tmp_path / "site" / "arms.md").read_text() == table
    assert (tmp_path / "site" / "arms_curves.png").read_bytes()[:4] == b"\x89PNG"
    for r in records[:4]:
        del r["training"]["curve"]
        write_record(tmp_path / "results", r)
    assert main([*argv, "--db", str(tmp_path / "db2"), "--out", str(tmp_path / "bare")]) == 0
    assert "no record keeps a loss curve" in capsys.readouterr().err
    assert not (tmp_path / "bare" / "arms_curves.png").exists() and (tmp_path / "bare" / "arms.md").exists()


def test_changed_fields_of_a_label():
    preset = get_preset("rank", optimizer="adamw", lr=4e-4)
    assert changed_fields(preset.label, dataclasses.asdict(preset)) == "lr 0.0004, optimizer adamw"
    assert changed_fields("rank", dataclasses.asdict(get_preset("rank"))) == "plain"


def test_the_cli_prints_the_arms_of_a_folder(tmp_path, capsys):
    for r in arm_records({}, PLAIN) + arm_records({"decoder_init": "ghn3"}, TIGHT):
        write_record(tmp_path / "results", r)
    assert (
        main(
            [
                "leaderboard",
                "--results",
                str(tmp_path / "results"),
                "--preset",
                "rank",
                "--arms",
                "--db",
                str(tmp_path / "db.sqlite"),
            ]
        )
        == 0
    )
    assert "| decoder init ghn3 |" in capsys.readouterr().out
    assert main(["leaderboard", "--results", str(tmp_path / "results"), "--arms", "--db", str(tmp_path / "db")]) == 2
    assert "--arms compares a preset's variants: name it with --preset" in capsys.readouterr().err


def test_the_study_script_skips_the_arms_the_rule_stops(tmp_path):
    """benchmarks/variance_study.py names each arm as the arms table does, and after 4 seeds an
    arm whose mean is more than 5 points below plain's is stopped."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "variance_study.py"
    spec = importlib.util.spec_from_file_location("variance_study", path)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    assert study.changed("plain") == "plain" and study.changed("lr-x2") == "lr 0.004"
    low = {m: [x - 8 for x in s[:4]] for m, s in TIGHT.items()}
    for r in arm_records({}, PLAIN) + arm_records({"lr": 4e-3}, low) + arm_records({"lr": 1e-3}, TIGHT):
        write_record(tmp_path, r)
    assert study.early_stopped(str(tmp_path)) == {"lr 0.004"}


def test_the_ranking_grid_starts_with_the_adopted_arm_only(tmp_path, monkeypatch, capsys):
    """benchmarks/ranking_grid.py: no grid while the study's decision is pending; once every
    running arm has 8 seeds, the grid runs the named preset made from the adopted arm (refused
    unless it is rank with the arm's fields), every model of the ranking (GHN-3 included) and a
    5-point target."""
    import importlib.util
    from pathlib import Path

    from bench.commands.cli import parser

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "ranking_grid.py"
    spec = importlib.util.spec_from_file_location("ranking_grid", path)
    grid = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grid)
    for r in arm_records({}, PLAIN) + arm_records({"decoder_init": "ghn3"}, {m: s[:4] for m, s in TIGHT.items()}):
        write_record(tmp_path / "study", r)
    arm, why = grid.study_decision(str(tmp_path / "study"))
    assert arm is None and "Decision pending: decoder init ghn3 (4)" in why
    for r in arm_records({"decoder_init": "ghn3"}, TIGHT):
        write_record(tmp_path / "study", r)
    arm, label = grid.study_decision(str(tmp_path / "study"))
    assert arm == ("--decoder-init", "ghn3") and label == get_preset("rank", decoder_init="ghn3").label
    assert "no such preset" in grid.preset_mismatch("rank-steady", arm)
    assert "differs in decoder_init" in grid.preset_mismatch("rank", arm)
    monkeypatch.setitem(PRESETS, "rank-steady", extends(PRESETS["rank"], "rank-steady", decoder_init="ghn3"))
    assert grid.preset_mismatch("rank-steady", arm) is None
    props, power = str(tmp_path / "properties"), str(tmp_path / "grid" / "power.json")
    argv = grid.grid_argv("rank-steady", str(tmp_path / "grid"), power, props, True, True)
    args = parser(argv).parse_args(argv)
    assert (args.gnn, args.ghn, args.preset, args.target_diff, args.commit) == (
        "all",
        "ghn2,mlp,ghn3",
        "rank-steady",
        5.0,
        True,
    )
    assert (args.properties, args.property_nets) == (props, 1000)
    assert len(grid.grid_models()) == 8  # six cores, the paper's MLP, GHN-3: the power table's models
    assert args.seeds == 12  # the floor; the power table raises it
    from leaderboard.simulate import Grid, PowerTable, SeedDistribution

    def seeds_under(power: dict) -> int:
        table = PowerTable("welch", SeedDistribution(2.0, 0.0, 0.0), Grid(models=8), power, 100)
        (tmp_path / "p.json").write_text(json.dumps(table.to_json()))
        return grid.grid_seeds(str(tmp_path / "p.json"))

    assert seeds_under({6: {5.0: 0.9}, 12: {5.0: 0.99}}) == 12  # 6 would do: the floor holds
    assert seeds_under({12: {5.0: 0.5}, 16: {5.0: 0.85}, 24: {5.0: 0.95}}) == 16
    assert seeds_under({12: {5.0: 0.3}, 24: {5.0: 0.6}}) == 24  # not found at 24: all 24, the resolution stated
    labels = parser(grid.labels_argv(props)).parse_args(grid.labels_argv(props))
    assert labels.labels_only and (labels.nets, labels.out) == (1000, props)
    tuned = grid.finetune_argv("rank-steady", str(tmp_path / "grid-finetune"), True, False)
    tuning = parser(tuned).parse_args(tuned)
    assert (tuning.gnn, tuning.ghn, tuning.split, tuning.preset) == (args.gnn, args.ghn, args.split, "rank-steady")
    assert (tuning.finetune, tuning.seeds) == ((10, 50, 200), 6) and tuning.properties is None
    # the whole script, planned only: the power table's 16 seeds, 8 models, then the fine-tuning pass
    (tmp_path / "grid").mkdir()
    seeds_under({12: {5.0: 0.5}, 16: {5.0: 0.85}})
    (tmp_path / "p.json").rename(power)
    script = ["--study", str(tmp_path / "study"), "--results", str(tmp_path / "grid"), "--preset", "rank-steady"]
    monkeypatch.setattr("sys.argv", ["ranking_grid.py", *script, "--dry-run"])
    assert grid.main() == 0
    out = capsys.readouterr().out
    assert "sweep digits/rank-steady: 256 cells" in out and "16 seeds per model" in out
    assert "48 jobs to run" in out  # fine-tuning: 8 models x the first 6 seeds


def load_study():
    """benchmarks/variance_study.py as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "variance_study.py"
    spec = importlib.util.spec_from_file_location("variance_study", path)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    return study


def test_two_helping_arms_are_combined_before_the_rule_decides(tmp_path):
    """Step 5: with two arms tighter than plain and not lower, their combination runs (8 seeds)
    before any decision; an arm that sets a field otherwise (a second learning rate) does not join."""
    study = load_study()
    tighter = {m: [46 + 0.5 * (-1) ** i for i in range(8)] for m in PLAIN}  # SD 0.53
    records = (
        arm_records({}, PLAIN)
        + arm_records({"decoder_init": "ghn3"}, TIGHT)
        + arm_records({"lr": 1e-3}, tighter)
        + arm_records({"lr": 4e-3}, TIGHT)
    )
    for r in records:
        write_record(tmp_path, r)
    arms = arms_of(records)
    plain = plain_arm(arms)
    assert [a.what for a in helping_arms(arms, plain)][0] == "lr 0.001"
    assert combined_name(combination(arms, plain)) == "decoder init ghn3, lr 0.001"  # lr 0.004 conflicts
    assert adopted(arms, plain) is None and "combination (decoder init ghn3, lr 0.001) runs first" in arm_table(records)
    assert study.combination_flags(str(tmp_path)) == ("--lr", "1e-3", "--decoder-init", "ghn3")
    both = arm_records(
        {"decoder_init": "ghn3", "lr": 1e-3}, {m: [46 + 0.1 * (-1) ** i for i in range(8)] for m in PLAIN}
    )
    for r in both:
        write_record(tmp_path, r)
    arms = arms_of(records + both)
    assert adopted(arms, plain_arm(arms)).what == "decoder init ghn3, lr 0.001"
    assert study.flags_of("decoder init ghn3, lr 0.001", str(tmp_path)) == ("--lr", "1e-3", "--decoder-init", "ghn3")


def test_one_helping_arm_needs_no_combination():
    records = arm_records({}, PLAIN) + arm_records({"decoder_init": "ghn3"}, TIGHT)
    arms = arms_of(records)
    assert combination(arms, plain_arm(arms)) == [] and adopted(arms, plain_arm(arms)).what == "decoder init ghn3"
