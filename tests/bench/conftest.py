"""Fixtures shared by the bench tests."""
import pytest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh GHNBENCH_HOME (checkpoints, results, graphs) under tmp_path."""
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    return tmp_path
