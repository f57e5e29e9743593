"""Speed of parameter prediction (run with `tox -e bench`, dgl cores with `tox -e bench-dgl`).

Reference: the GHN-2 code predicts ResNet-50 (graph + forward) in 0.28 s on the 2-core dev
machine; target < 0.09 s (3x) for the gatedgnn core at GHN-2 size.
"""

import pytest

from bench.harness.workloads import GNNS, core_forward_round, installed_backends, predict_resnet50_round


@pytest.mark.parametrize("backend", installed_backends())
@pytest.mark.parametrize("core", GNNS)
def test_predict_resnet50(benchmark, core, backend, device):
    """Graph construction + GHN forward + writing all 25.6M parameters (GHN-2 size: hidden 64, 1 round)."""
    benchmark(predict_resnet50_round(core, backend, device).run)


@pytest.mark.parametrize("backend", installed_backends())
@pytest.mark.parametrize("core", GNNS)
def test_core_forward_meta_batch(benchmark, core, backend, device):
    """Core alone on a meta-batch of 8 train graphs (conversions cached, as in training)."""
    benchmark(core_forward_round(core, backend, device).run)
