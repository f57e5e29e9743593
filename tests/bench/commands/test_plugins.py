"""Benchmark your own GNN: a core in a file of the user's, end to end (README's example)."""

import json
import shutil
from pathlib import Path

import pytest

from bench.commands.cli import main
from leaderboard.render import render
from tests.short_run import short_run

EXAMPLE = Path(__file__).parents[2] / "data" / "mycore.py"
FAST = short_run(meta_batch="2", hidden=None, max_train_params="5e5")


pytestmark = pytest.mark.usefixtures("registry_as_it_was")  # plugin cores register process-wide


def test_a_core_in_a_file_runs_is_matched_and_gets_a_row(home, tmp_path, capsys):
    core = tmp_path / "mycore.py"
    shutil.copyfile(EXAMPLE, core)
    assert main(["run", "--gnn", f"{core}:MyCore", "--split", "val", *FAST]) == 0
    path = next((home / "results").glob("mycore_pyg_val_*.json"))
    record = json.loads(path.read_text())
    assert record["gnn"] == "mycore" and record["core"]["protocol"] == "v1"
    assert record["core"]["matched"].startswith("auto: 4 layers, 8,320 non-embedding parameters against 8,480")
    md = render(home / "db.sqlite", [home / "results"], None, with_plots=False).text["md"]
    assert "| mycore/pyg |" in md


def test_a_sweep_passes_the_plugin_on_to_its_jobs(home, tmp_path, capsys):
    core = tmp_path / "mycore.py"
    shutil.copyfile(EXAMPLE, core)
    assert main(["sweep", "--gnn", f"gcn,{core}:MyCore", "--split", "val", "--seeds", "1", "--dry-run"]) == 0
    assert "mycore/pyg seed 0 on val" in capsys.readouterr().out
    from bench.launchers.sweep import Job

    assert f"{core.resolve()}:MyCore" in Job("mycore", "pyg", 0, ("val",)).argv([])


@pytest.mark.parametrize(
    "target, message",
    [
        ("nofile.py:X", "no such file"),
        ("json:loads", "not a gnn_zoo.Core"),
        ("no_such_module_x:C", "not importable"),
        (f"{EXAMPLE}:Nope", "has no Nope; its Core subclasses: MyCore"),
    ],
)
def test_a_bad_plugin_is_a_clear_error(home, target, message, capsys):
    with pytest.raises(SystemExit) as failed:  # argparse: one line naming --gnn
        main(["run", "--gnn", target, "--split", "val", *FAST])
    assert failed.value.code == 2 and message in capsys.readouterr().err


def test_a_users_core_joins_a_shipped_table_under_the_same_statistics(home, tmp_path, capsys):
    """A shipped results folder (made on another machine) and a user's own sweep of their core at
    the same preset and seeds: `bench leaderboard` with both places the user's row in the shipped
    table, says where its machine differs, and the shipped folder is left as it was."""
    shipped, mine = tmp_path / "shipped", tmp_path / "mine"
    grid = ["--split", "val", "--seeds", "2", "--launcher", "debug", *FAST]
    assert main(["sweep", "--gnn", "gcn", "--results", str(shipped), *grid]) == 0
    for path in shipped.glob("*.json"):
        if path.name != "manifest.json":
            record = json.loads(path.read_text())
            record["hardware"]["cpu"], record["versions"]["torch"] = "Shipped CPU", "9.9"
            path.write_text(json.dumps(record))
    before = {p: p.stat().st_mtime_ns for p in shipped.rglob("*")}
    core = tmp_path / "mycore.py"
    shutil.copyfile(EXAMPLE, core)
    assert main(["sweep", "--gnn", f"{core}:MyCore", "--results", str(mine), *grid]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(shipped), "--results", str(mine), "--db", str(tmp_path / "db")]) == 0
    md = capsys.readouterr().out
    assert md.count("## ") == 1 and "| gcn/pyg |" in md and "| mycore/pyg |" in md  # one table, both rows
    assert "Made elsewhere than most rows (CPU Shipped CPU, torch 9.9" in md and "mycore/pyg: CPU " in md
    assert {p: p.stat().st_mtime_ns for p in shipped.rglob("*")} == before
