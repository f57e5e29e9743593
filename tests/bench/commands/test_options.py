"""Bad numbers and unwritable folders fail before any work, naming the flag or variable."""

import pytest

from bench.commands.cli import main


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--steps", "0"),
        ("--steps", "-5"),
        ("--meta-batch", "0"),
        ("--eval-nets", "0"),
        ("--eval-images", "0"),
        ("--batch-size", "0"),
        ("--lr", "0"),
        ("--hidden", "x"),
        ("--seed", "-1"),
        ("--eval-noise", "-0.1"),
        ("--warmup", "1"),
        ("--warmup", "-0.1"),
    ],
)
def test_out_of_range_numbers_are_refused_at_parse_time(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--gnn", "gcn", "--split", "val", flag, value])
    assert exit_.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sweep", "--seeds", "0"], ["sweep", "--parallel", "0"]])
def test_sweep_counts_are_checked_too(command, capsys):
    with pytest.raises(SystemExit):
        main(command)
    assert "must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [None, "--results", "--checkpoints"])
def test_an_unwritable_folder_is_named_before_training(tmp_path, monkeypatch, flag, capsys):
    """A folder under a plain file cannot be created, not even by root."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    home = tmp_path / "home"
    monkeypatch.setenv("GHNBENCH_HOME", str(blocker / "home" if flag is None else home))
    args = ["run", "--gnn", "gcn", "--split", "val", "--no-progress"] + ([flag, str(blocker / "sub")] if flag else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{flag or 'GHNBENCH_HOME'}: cannot write into" in err
    assert not list(home.rglob("*.pt"))  # nothing was trained


def test_check_writable_names_the_setting(tmp_path):
    from bench.commands.options import check_writable

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="--results: cannot write into"):
        check_writable(blocker / "results", "--results")
    assert check_writable(tmp_path / "new" / "results", "--results").is_dir()
