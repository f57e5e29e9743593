"""Threads from the CPUs a process may use, a warning when others keep them busy, and the local
sweep sharing the CPUs out."""

import pytest
import torch

import bench.launchers.threads as threads
from bench.commands.cli import main


@pytest.fixture
def cpus(monkeypatch, tmp_path):
    """set(affinity, quota or None): fake the affinity mask and the cgroup v2 quota."""

    def _set(affinity: int, quota: str | None):
        monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(affinity)), raising=False)
        path = tmp_path / "cpu.max"
        if quota is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(quota)
        monkeypatch.setattr(threads, "CGROUP_V2", path)
        monkeypatch.setattr(threads, "CGROUP_V1", (tmp_path / "none", tmp_path / "none"))

    return _set


@pytest.mark.parametrize(
    "affinity, quota, expected",
    [(8, None, 8), (8, "max 100000", 8), (8, "200000 100000", 2), (2, "400000 100000", 2), (4, "50000 100000", 1)],
)
def test_usable_cpus_are_the_affinity_capped_by_the_quota(cpus, affinity, quota, expected):
    cpus(affinity, quota)
    assert threads.usable_cpus() == expected


def test_a_busy_machine_gets_a_warning_naming_threads(cpus, monkeypatch):
    cpus(2, None)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.1, 1.0, 1.0))
    monkeypatch.setattr(threads, "runnable_others", lambda: 1)
    assert "pass --threads 1" in threads.busy_warning(2)
    assert threads.busy_warning(1) is None
    monkeypatch.setattr(threads, "runnable_others", lambda: 0)  # the load is a finished job's, lagging
    assert threads.busy_warning(2) is None
    monkeypatch.setattr(threads, "runnable_others", lambda: None)  # no /proc: the load average decides
    assert "pass --threads 1" in threads.busy_warning(2)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.2, 0.1, 0.1))
    assert threads.busy_warning(2) is None
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.0, 2.0, 2.0))  # both CPUs busy, one thread asked
    one = threads.busy_warning(1)
    assert "1 threads" not in one and "this run's thread will share a CPU with them" in one


def test_set_threads_honours_the_flag_then_omp_num_threads(cpus, monkeypatch):
    cpus(4, None)
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert threads.set_threads(None, warn=False) == 1 and torch.get_num_threads() == 1
        assert threads.set_threads(2, warn=False) == 2 and torch.get_num_threads() == 2
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert threads.set_threads(None, warn=False) == 4
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("preset, parallel, each", [("tiny", 4, 1), ("small", 1, 4)])
def test_the_local_sweep_shares_the_cpus_out(cpus, home, capsys, preset, parallel, each):
    cpus(4, None)
    assert main(["sweep", "--gnn", "gcn,gat", "--split", "val", "--preset", preset, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"{parallel} at a time with {each} thread(s) each" in out
    assert ("min by tiny's measured minutes" in out) == (preset == "tiny")  # its arithmetic: test_sweep


def test_the_warning_is_printed_once_and_not_for_explicit_threads(cpus, monkeypatch, capsys):
    cpus(2, None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    monkeypatch.setattr(threads, "runnable_others", lambda: 1)
    before = torch.get_num_threads()
    try:
        threads.set_threads(None)
        assert capsys.readouterr().err.count("pass --threads 1") == 1
        threads.set_threads(2)  # chosen by the user or a sweep: no warning
        assert capsys.readouterr().err == ""
    finally:
        torch.set_num_threads(before)
