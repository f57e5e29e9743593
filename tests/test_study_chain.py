"""benchmarks/study_chain.sh's control flow, with a stand-in Python that logs what it is asked to run."""

import os
import stat
import subprocess
from pathlib import Path

CHAIN = Path(__file__).resolve().parents[1] / "benchmarks" / "study_chain.sh"


def init_repo(path: Path) -> None:
    """A git repository at `path` that can commit."""
    for argv in (["init", "-q"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *argv], cwd=path, check=True)


def run_chain(tmp_path: Path) -> tuple[str, list[str]]:
    """The chain run over an empty study worktree; its output and the Python commands it ran."""
    study, log = tmp_path / "study", tmp_path / "calls.log"
    (tmp_path / "grid").mkdir(exist_ok=True)
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')  # prints nothing: no combination is pending
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "STUDY": str(study), "GRIDTREE": str(tmp_path / "grid"), "PY": str(python)}
    done = subprocess.run(["bash", str(CHAIN)], env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout, log.read_text().splitlines()


def test_the_chain_runs_the_study_the_labels_then_the_named_grid(tmp_path):
    study = tmp_path / "study"
    (study / "results" / "properties" / ".labels").mkdir(parents=True)  # as `bench properties` makes it
    init_repo(study)
    out, calls = run_chain(tmp_path)
    assert calls[0] == "benchmarks/variance_study.py --results results/variance-study --commit"
    assert "--print-combination" in calls[1] and "properties --labels-only" in calls[2]
    assert (study / "results" / "properties" / ".labels" / "done").exists() and len(calls) == 3
    assert "the grid waits for its named preset" in out
    (study / "results" / "ranking").mkdir(parents=True)
    (study / "results" / "ranking" / "PRESET").write_text("rank-steady\n")
    (tmp_path / "calls.log").unlink()
    out, calls = run_chain(tmp_path)
    assert not any("labels-only" in c for c in calls)  # done once
    assert calls[-1] == (
        "benchmarks/ranking_grid.py --study results/variance-study --results results/ranking "
        "--preset rank-steady --commit"
    )
    assert "the ranking grid and its fine-tuning pass are done" in out


def test_the_chain_first_clears_what_a_stop_left(tmp_path):
    study = tmp_path / "study"
    (study / "results" / "variance-study").mkdir(parents=True)
    init_repo(study)
    record = study / "results" / "variance-study" / "gcn_pyg_val_digits_rank_0.json"
    record.write_text("{}\n")  # landed, not committed
    lock = study / ".git" / "index.lock"
    lock.touch()
    os.utime(lock, (lock.stat().st_mtime - 120,) * 2)  # a commit killed two minutes ago
    out, _ = run_chain(tmp_path)
    assert not lock.exists() and "left by a commit a stop killed" in out
    committed = subprocess.run(["git", "log", "--name-only", "--format=%s"], cwd=study, capture_output=True, text=True)
    assert "results: what a stopped run wrote before its commit" in committed.stdout
    assert "results/variance-study/gcn_pyg_val_digits_rank_0.json" in committed.stdout


def test_the_labels_run_the_grid_code_not_the_studys(tmp_path):
    """Step 3 runs `bench properties` on $GRIDTREE's code, though the chain works in $STUDY, where
    `python -m bench` would import the study's own (older) bench first."""
    import sys

    study, grid = tmp_path / "study", tmp_path / "grid"
    for tree in (study, grid):
        (tree / "bench").mkdir(parents=True)
        (tree / "bench" / "__init__.py").write_text("")
        (tree / "bench" / "__main__.py").write_text(
            "import pathlib, sys\n"
            "out = pathlib.Path(sys.argv[sys.argv.index('--out') + 1])\n"
            "(out / '.labels').mkdir(parents=True, exist_ok=True)\n"
            f"print('bench of the {tree.name} tree')\n"
        )
    init_repo(study)
    python = tmp_path / "python"  # the real Python for the labels, a silent stand-in for the rest
    python.write_text(f'#!/bin/sh\ncase "$*" in *"bench properties"*) exec {sys.executable} "$@";; esac\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "STUDY": str(study), "GRIDTREE": str(grid), "PY": str(python)}
    done = subprocess.run(["bash", str(CHAIN)], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "bench of the grid tree" in done.stdout and "bench of the study tree" not in done.stdout
    assert (study / "results" / "properties" / ".labels" / "done").exists()  # the labels land in the study
