"""Shared fixtures, and a report header naming what a result here depends on."""

import pytest
import torch


def pytest_report_header() -> list[str]:
    """Library versions and the CPU kind: a failure on another machine can be told from a code fault."""
    from bench.config.records import cpu_info, versions

    cpu = cpu_info()
    return [
        ", ".join(f"{k} {v}" for k, v in versions().items() if v),
        f"cpu: {cpu['cpu']} [{' '.join(cpu['cpu_flags'])}], {torch.get_num_threads()} torch threads",
    ]


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests run on 2 cores; keep torch from oversubscribing them."""
    torch.set_num_threads(1)
    yield


@pytest.fixture
def registry_as_it_was():
    """Plugin cores register into the process-wide registry: after the test, the zoo alone again."""
    from gnn_zoo.plugins import PLUGINS
    from gnn_zoo.registry import CORES

    cores, plugins = {k: dict(v) for k, v in CORES.items()}, dict(PLUGINS)
    yield
    CORES.clear()
    CORES.update(cores)
    PLUGINS.clear()
    PLUGINS.update(plugins)
