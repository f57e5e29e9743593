"""The contract every registered core passes, on every backend and graph view it declares."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from deepnets1m import GraphBatch
from gnn_zoo import available, create
from gnn_zoo.registry import core_class
from gnn_zoo.views import needs_virtual_edges


def core_cases(backend: str) -> list:
    """pytest params (name, view) of every registered core on `backend` and every view it declares."""
    cases = []
    for name, backends in available().items():
        if backend in backends:
            views = core_class(name, backend).views if backend == "pyg" else declared_views(name)
            cases += [pytest.param(name, view, id=f"{name}-{view}") for view in views]
    return cases


def declared_views(name: str) -> tuple[str, ...]:
    """A core's views, read from its PyG implementation (importable without DGL)."""
    return core_class(name, "pyg").views


def batch_for(graphs, view: str) -> GraphBatch:
    """The graphs batched as a GHN batches them for `view`."""
    return GraphBatch.from_graphs(graphs, max_hops=50 if needs_virtual_edges(view) else 0)


def relabelled(graph, perm: torch.Tensor):
    """`graph` with node i renamed to the node perm[i] was (edges, owners and types follow)."""
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    return dataclasses.replace(
        graph,
        node_types=graph.node_types[perm],
        edge_index=inv[graph.edge_index],
        level=graph.level[perm],
        node_names=[graph.node_names[i] for i in perm.tolist()],
        param_node=inv[graph.param_node],
        _virtual={},
    )


def check_contract(name: str, backend: str, view: str, graphs) -> None:
    """Shapes, gradients to every weight, determinism, graphs in a batch independent, and (views
    without an order) the same output for isomorphic relabellings of a graph."""
    torch.manual_seed(0)
    core = create(name, backend, hidden=16, layers=2, view=view)
    assert core.view == view and core.backend == backend
    batch = batch_for(graphs, view)
    x = torch.randn(batch.num_nodes, 16, requires_grad=True)
    out = core(x, batch)
    assert out.shape == x.shape and torch.isfinite(out).all()
    out.square().sum().backward()
    assert x.grad.abs().sum() > 0
    for pname, p in core.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}/{backend}/{view}: no gradient reaches {pname}"
    with torch.no_grad():
        assert torch.equal(core(x, batch), core(x, batch_for(graphs, view)))  # deterministic
        for i, g in enumerate(graphs):
            a, b = batch.ptr[i], batch.ptr[i + 1]
            torch.testing.assert_close(out[a:b].detach(), core(x[a:b], batch_for([g], view)), atol=1e-5, rtol=1e-5)
        if view != "sweep":  # a sweep follows the node order by design
            g = graphs[0]
            perm = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(1))
            moved = core(x[: g.num_nodes][perm], batch_for([relabelled(g, perm)], view))
            expected = out[: g.num_nodes][perm].detach()
            # sums over hundreds of virtual neighbours in another order: float32 rounding of the scale of the outputs
            torch.testing.assert_close(moved, expected, atol=1e-5 * expected.abs().max().item(), rtol=1e-5)
