"""Shared fixtures, and a report header naming what a result here depends on."""
import pytest
import torch


def pytest_report_header() -> list[str]:
    """Library versions and the CPU kind: a failure on another machine can be told from a code fault."""
    from bench.records import cpu_info, versions

    cpu = cpu_info()
    return [", ".join(f"{k} {v}" for k, v in versions().items() if v),
            f"cpu: {cpu['cpu']} [{' '.join(cpu['cpu_flags'])}], {torch.get_num_threads()} torch threads"]


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests run on 2 cores; keep torch from oversubscribing them."""
    torch.set_num_threads(1)
    yield
