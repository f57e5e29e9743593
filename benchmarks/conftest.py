"""Options of the speed suite: `--bench-device cuda` times the GPU paths (synchronised)."""

import pytest
import torch


def pytest_addoption(parser):
    parser.addoption(
        "--bench-device",
        default="cpu",
        choices=("cpu", "cuda"),
        help="device of the GHN and the nets in the speed suite (default cpu)",
    )


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    name = request.config.getoption("--bench-device")
    if name == "cuda" and not torch.cuda.is_available():
        pytest.fail("--bench-device cuda: no CUDA GPU visible to torch here")
    return torch.device(name)
