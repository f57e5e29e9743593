"""Shared fixtures."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_threads():
    """Tests run on 2 cores; keep torch from oversubscribing them."""
    torch.set_num_threads(1)
    yield
