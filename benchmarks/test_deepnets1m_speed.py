"""Speed of DeepNets-1M: generation, graph construction, cached reads (run with `tox -e bench`).

Reference figures measured on the 2-core dev machine with the reference GHN-2 code: 6.1 train
architectures/s generated. Our targets: >= 60 arch/s, < 1 ms per cached read, < 50 ms for the
ResNet-50 graph.
"""
import itertools
import random

import pytest
import torch
import torchvision

from deepnets1m import build_net, sample, spec_graph, to_graph
from deepnets1m.cache import GraphCache
from deepnets1m.generate import generate

fresh = itertools.count(10_000)


def sample_and_graph(n: int) -> None:
    for _ in range(n):
        spec_graph(sample("train", next(fresh)))


def test_generate_train_single_process(benchmark):
    """20 new train architectures (spec + graph) per round, one process."""
    benchmark.extra_info["archs_per_round"] = 20
    benchmark(sample_and_graph, 20)


def test_generate_train_two_workers(benchmark, tmp_path):
    """`bench generate --split train --n 2000` with 2 worker processes, shards written."""
    roots = (tmp_path / str(i) for i in itertools.count())
    benchmark.extra_info["archs_per_round"] = 2000
    benchmark.pedantic(lambda: generate("train", 2000, next(roots), progress=False, workers=2), rounds=2)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    report = generate("train", 1000, tmp_path_factory.mktemp("cache"), progress=False)
    return GraphCache(report.folder)


def test_read_cached_graph(benchmark, cache):
    """One random architecture (graph + spec) from a 1000-graph cache."""
    rng = random.Random(0)
    benchmark(lambda: cache.get(rng.randrange(len(cache))))


@pytest.mark.parametrize("name", ["resnet50", "vit_b_16"])
def test_torchvision_graph(benchmark, name):
    """to_graph on a torchvision model (fx trace + conversion)."""
    model = getattr(torchvision.models, name)()
    benchmark(to_graph, model)


def test_deepnets_graph_traced(benchmark):
    """to_graph on a built DeepNets-1M net (the general path the spec compiler short-cuts)."""
    with torch.device("meta"):
        net = build_net(sample("train", 0))
    benchmark(to_graph, net)


def test_virtual_edges_train_graph(benchmark):
    """Virtual edges (s = 50) of a typical train graph, computed on demand."""
    graph = spec_graph(sample("train", 0))

    def compute():
        graph._virtual.clear()
        return graph.virtual_edges(50)

    benchmark(compute)
