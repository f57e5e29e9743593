"""The leaderboard over records written by real (shortened) tiny-preset runs."""

from bench.commands.cli import main
from bench.config.presets import get_preset
from tests.short_run import short_run

FAST = short_run(sgd_steps="0", sgd_nets=None, max_train_params="2e5")


def test_leaderboard_of_real_tiny_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    for gnn in ("gcn", "mlp"):
        for seed in ("0", "1"):
            assert main(["run", "--gnn", gnn, "--split", "val,ood-wide", "--seed", seed, *FAST]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--out", str(tmp_path / "board")]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    assert set(rows) == {"model", "gcn/pyg", "mlp/pyg", "random init"}
    assert rows["gcn/pyg"].rstrip(" |").endswith("| 2 | virtual | 2,176")  # two seeds per cell; view, core size
    assert rows["mlp/pyg"].rstrip(" |").endswith("| 2 | none | 2,176")
    assert (tmp_path / "leaderboard.sqlite").exists()
    label = get_preset(
        "tiny",
        steps=2,
        meta_batch=1,
        batch_size=16,
        hidden=16,
        eval_nets=2,
        eval_images=40,
        sgd_steps=0,
        max_train_params=2e5,
    ).label  # shortened runs get a table of their own
    assert f"### digits, preset {label}:" in out
    assert (tmp_path / "board" / f"digits_{label}_id_vs_ood.png").stat().st_size > 1000
