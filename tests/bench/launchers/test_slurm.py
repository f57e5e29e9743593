"""`bench sweep --launcher slurm` against a real one-node Slurm started on this machine."""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bench.commands.cli import main
from tests.short_run import short_run

pytestmark = pytest.mark.slurm

FAST = short_run(no_progress=False, steps=None) + ["--launcher", "slurm", "--partition", "cpu", "--cpus", "1"]


def records(home: Path) -> list[str]:
    """The complete records in `home`'s results (an interrupted atomic write leaves only a hidden .tmp)."""
    found = sorted(p for p in (home / "results").glob("*.json") if p.name != "manifest.json")
    for path in found:
        json.loads(path.read_text())
    return [p.name for p in found]


def queue(array: str | None = None) -> list[tuple[str, str]]:
    """(task id, state) of the jobs in the queue, of one array or all."""
    out = subprocess.run(
        ["squeue", "-h", "-r", "-o", "%i|%T", *(["-j", array] if array else [])], capture_output=True, text=True
    )
    return [tuple(line.split("|")) for line in out.stdout.split()]


def wait_for(condition, timeout_s: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def array_of(out: str) -> str:
    return out.split("submitted Slurm job array ")[1].split()[0]


def test_a_grid_lands_every_record_within_the_array_limit(home, slurm, capsys):
    most = {"running": 0, "pending": 0}
    stop = threading.Event()

    def watch() -> None:  # the array's concurrency as squeue reports it, while the sweep waits
        while not stop.is_set():
            states = [s for _, s in queue()]
            most["running"] = max(most["running"], states.count("RUNNING"))
            most["pending"] = max(most["pending"], states.count("PENDING"))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code = main(
            [
                "sweep",
                "--gnn",
                "gcn,gat,mlp",
                "--split",
                "val",
                "--seeds",
                "1",
                "--steps",
                "2",
                "--parallel",
                "1",
                "--wait",
                "--no-progress",
                *FAST,
            ]
        )
    finally:
        stop.set()
        watcher.join()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "(3 jobs, at most 1 at once)" in out and "3 of 3 jobs finished" in out
    # the node has 2 CPUs and each job asks 1: only the array's %1 keeps a second one waiting
    assert most["running"] == 1 and most["pending"] >= 2
    label = out.split("sweep digits/")[1].split(":")[0]
    assert records(home) == [f"{m}_pyg_val_digits_{label}_0.json" for m in ("gat", "gcn", "mlp")]
    assert main(["leaderboard", "--results", str(home / "results")]) == 0
    board = capsys.readouterr().out
    for model in ("gcn/pyg", "gat/pyg", "mlp/pyg", "random init"):
        assert f"| {model} |" in board


def test_a_cancelled_job_leaves_no_record_and_the_rerun_submits_only_it(home, slurm, capsys):
    sweep = [
        "sweep",
        "--gnn",
        "mlp",
        "--split",
        "val",
        "--seeds",
        "2",
        "--steps",
        "200",
        "--parallel",
        "1",
        "--no-progress",
        "--logs",
        str(home / "logs"),
        *FAST,
    ]
    assert main(sweep) == 0
    array = array_of(capsys.readouterr().out)
    second = home / "logs" / f"{array}_1_0_log.out"
    wait_for(
        lambda: len(records(home)) == 1 and second.exists() and "checkpoint saved" in second.read_text(),
        what="seed 0's record and seed 1's first training checkpoint",
    )
    subprocess.run(["scancel", array], check=True)
    wait_for(lambda: not queue(array), 60, "the cancelled array to leave the queue")
    assert records(home) == [records(home)[0]] and records(home)[0].endswith("_0.json")

    assert main([*sweep, "--wait"]) == 0
    out = capsys.readouterr().out
    assert "1 already recorded" in out and "1 jobs to run" in out and "(1 jobs, at most 1 at once)" in out
    assert "mlp/pyg seed 1 on val" in out and "mlp/pyg seed 0" not in out
    assert [name[-7:] for name in records(home)] == ["_0.json", "_1.json"]
    rerun = next(p for p in (home / "logs").glob("*_0_log.out") if not p.name.startswith(f"{array}_"))
    assert "resuming the GHN's training (mlp/pyg) from step" in rerun.read_text()  # the cancelled job's checkpoint


def test_a_failing_job_is_reported_with_its_log_and_the_rerun_command(home, slurm, capsys):
    sweep = [
        "sweep",
        "--gnn",
        "gcn",
        "--split",
        "val",
        "--seeds",
        "1",
        "--steps",
        "2",
        "--wait",
        "--no-progress",
        "--dataset",
        "cifar10",
        "--data-dir",
        str(home / "nowhere"),
        *FAST,
    ]
    assert main(sweep) == 1
    err = capsys.readouterr().err
    assert "FAILED gcn/pyg seed 0 on val: bench run: error: cifar10 not found" in err
    log = Path(err.split("(log: ")[1].split(")")[0])
    assert "cifar10 not found" in log.read_text()
    assert "rerun only them with the same command: bench sweep --gnn gcn" in err
    assert not records(home)
