"""Fixtures shared by the bench tests."""

import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh GHNBENCH_HOME (checkpoints, results, graphs) under tmp_path."""
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def local_slurm(tmp_path_factory):
    """A one-node Slurm on this machine (tools/local_slurm.py) for the session, stopped after it by
    the PIDs it started; skips saying why where it cannot run (not root, packages missing)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "local_slurm.py"
    spec = importlib.util.spec_from_file_location("local_slurm", path)
    tool = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its dataclass looks itself up there
    spec.loader.exec_module(tool)
    why = tool.unavailable()
    if why:
        pytest.skip(f"no local Slurm: {why}")
    cluster = tool.start(tmp_path_factory.mktemp("slurm"), cpus=2)
    yield cluster
    tool.stop(cluster)


@pytest.fixture
def slurm(local_slurm, monkeypatch):
    """The local Slurm's clients reachable from this test (SLURM_CONF) and its queue polled often."""
    monkeypatch.setenv("SLURM_CONF", str(local_slurm.conf))
    monkeypatch.setattr("bench.launchers.slurm_wait.POLL_S", 0.5)
    return local_slurm
