"""Speed of DeepNets-1M: generation, graph construction, cached reads (run with `tox -e bench`).

Reference figures measured on the 2-core dev machine with the reference GHN-2 code: 6.1 train
architectures/s generated. Our targets: >= 60 arch/s, < 1 ms per cached read, < 50 ms for the
ResNet-50 graph.
"""

import itertools

import pytest

from bench.harness.workloads import (
    DEEPNETS_SIZES,
    cached_read_round,
    deepnets_graph_round,
    generate_round,
    torchvision_graph_round,
)
from deepnets1m import sample, spec_graph
from deepnets1m.generate import generate


def test_generate_train_single_process(benchmark):
    """20 new train architectures (spec + graph) per round, one process."""
    round_ = generate_round(20)
    benchmark.extra_info["archs_per_round"] = round_.items
    benchmark(round_.run)


def test_generate_train_two_workers(benchmark, tmp_path):
    """`bench generate --split train --n 2000` with 2 worker processes, shards written."""
    roots = (tmp_path / str(i) for i in itertools.count())
    benchmark.extra_info["archs_per_round"] = 2000
    benchmark.pedantic(lambda: generate("train", 2000, next(roots), progress=False, workers=2), rounds=2)


def test_read_cached_graph(benchmark, tmp_path):
    """One random architecture (graph + spec) from a 1000-graph cache."""
    benchmark(cached_read_round(tmp_path).run)


@pytest.mark.parametrize("name", ["resnet50", "vit_b_16"])
def test_torchvision_graph(benchmark, name):
    """to_graph on a torchvision model (fx trace + conversion)."""
    benchmark(torchvision_graph_round(name).run)


@pytest.mark.parametrize("size", list(DEEPNETS_SIZES))
def test_deepnets_graph_traced(benchmark, size):
    """to_graph on built DeepNets-1M nets by size (the general path the spec compiler short-cuts)."""
    benchmark(deepnets_graph_round(size).run)


def test_virtual_edges_train_graph(benchmark):
    """Virtual edges (s = 50) of a typical train graph, computed on demand."""
    graph = spec_graph(sample("train", 0))

    def compute():
        graph._virtual.clear()
        return graph.virtual_edges(50)

    benchmark(compute)
