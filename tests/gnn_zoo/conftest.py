"""Fixtures for gnn_zoo tests: real DeepNets-1M and torchvision graphs."""

import os

import pytest
import torch
import torchvision

from deepnets1m import GraphBatch, sample, spec_graph, to_graph


@pytest.fixture(scope="session")
def graphs():
    """A few real graphs of different splits, plus ResNet-18."""
    nets = [spec_graph(sample(s, i)) for s, i in (("val", 0), ("ood-deep", 1), ("ood-bnfree", 2), ("test", 3))]
    with torch.device("meta"):
        resnet = torchvision.models.resnet18()
    return nets + [to_graph(resnet)]


@pytest.fixture
def batch(graphs):
    return GraphBatch.from_graphs(graphs)


def dgl_or_skip():
    """Import DGL; in the tox `dgl` env (GHNBENCH_REQUIRE_DGL=1) its absence is a failure."""
    try:
        import dgl  # noqa: F401
    except Exception as err:  # DGL raises more than ImportError when torch does not match
        if os.environ.get("GHNBENCH_REQUIRE_DGL") == "1":
            raise
        pytest.skip(f"DGL not importable here ({type(err).__name__}); the parity tests run in `tox -e dgl`")
