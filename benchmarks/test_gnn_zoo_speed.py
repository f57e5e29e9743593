"""Speed of parameter prediction (run with `tox -e bench`, dgl cores with `tox -e bench-dgl`).

Reference: the GHN-2 code predicts ResNet-50 (graph + forward) in 0.28 s on the 2-core dev
machine; target < 0.09 s (3x) for the gatedgnn core at GHN-2 size.
"""
import pytest
import torch
import torchvision

from deepnets1m import GraphBatch, sample, spec_graph
from gnn_zoo import GHN, create

GNNS = ["gatedgnn", "gcn", "gat", "gin", "transformer", "mlp"]


def backends():
    try:
        import dgl  # noqa: F401
    except Exception:
        return ["pyg"]
    return ["pyg", "dgl"]


@pytest.fixture(scope="module")
def resnet50():
    return torchvision.models.resnet50()


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("core", GNNS)
def test_predict_resnet50(benchmark, resnet50, core, backend):
    """Graph construction + GHN forward + writing all 25.6M parameters (GHN-2 size: hidden 64, 1 round)."""
    ghn = GHN(core, backend, hidden=64, layers=1, num_classes=1000).eval()
    benchmark.extra_info["ghn_params"] = sum(p.numel() for p in ghn.parameters())
    benchmark(ghn, resnet50)


@pytest.mark.parametrize("backend", backends())
@pytest.mark.parametrize("core", GNNS)
def test_core_forward_meta_batch(benchmark, core, backend):
    """Core alone on a meta-batch of 8 train graphs (conversions cached, as in training)."""
    graphs = [spec_graph(sample("train", i)) for i in range(8)]
    core_module = create(core, backend, hidden=64, layers=1)
    batch = GraphBatch.from_graphs(graphs, max_hops=50 if core_module.uses_virtual_edges else 0)
    x = torch.randn(batch.num_nodes, 64)
    with torch.no_grad():
        benchmark(core_module, x, batch)
