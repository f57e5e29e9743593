"""PyG vs DGL: with the same weights every core gives the same output (runs in `tox -e dgl`)."""

import dataclasses
from pathlib import Path

import pytest
import torch
import torchvision

from deepnets1m import GraphBatch, to_graph
from gnn_zoo import GHN, available, create, load

from .conftest import dgl_or_skip
from .contract import batch_for, check_contract, core_cases


@pytest.fixture(autouse=True)
def _dgl():
    dgl_or_skip()


@pytest.mark.parametrize("name, view", core_cases("dgl"))
def test_every_dgl_core_passes_the_contract(name, view, graphs):
    check_contract(name, "dgl", view, graphs)


@pytest.mark.parametrize("name, view", core_cases("dgl") + [pytest.param("gatedgnn", "ghn1", id="gatedgnn-ghn1")])
def test_same_weights_same_output(name, view, graphs):
    torch.manual_seed(0)
    ghn1 = view == "ghn1"  # GHN-1's gated core: its sweeps without virtual edges
    kwargs = {"virtual_edges": False, "view": "sweep"} if ghn1 else {"view": view}
    pyg = create(name, "pyg", hidden=32, layers=2, **kwargs)
    dgl = create(name, "dgl", hidden=32, layers=2, **kwargs)
    assert dgl.backend == "dgl" and pyg.backend == "pyg"
    dgl.load_state_from(pyg)
    x = torch.randn(sum(g.num_nodes for g in graphs), 32)
    x_pyg, x_dgl = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_pyg = pyg(x_pyg, GraphBatch.from_graphs(graphs, max_hops=1) if ghn1 else batch_for(graphs, view))
    out_dgl = dgl(x_dgl, GraphBatch.from_graphs(graphs, max_hops=1) if ghn1 else batch_for(graphs, view))
    torch.testing.assert_close(out_dgl, out_pyg, atol=1e-5, rtol=1e-5)
    out_pyg.square().sum().backward()
    out_dgl.square().sum().backward()
    torch.testing.assert_close(x_dgl.grad, x_pyg.grad, atol=1e-4, rtol=1e-4)
    if name == "gatedgnn":  # its sweeps' hand-written backward spreads gradients through each backend's levels
        for (key, a), (_, b) in zip(pyg.named_parameters(), dgl.named_parameters()):
            torch.testing.assert_close(b.grad, a.grad, atol=1e-4, rtol=1e-4, msg=key)


@pytest.mark.parametrize("name", sorted(available()))
def test_weights_round_trip_between_backends(name):
    pyg = create(name, "pyg", hidden=16)
    dgl = create(name, "dgl", hidden=16)
    dgl.load_state_from(pyg)
    back = create(name, "pyg", hidden=16)
    back.load_state_from(dgl)
    for key, value in pyg.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key


def test_ghn_checkpoint_moves_across_backends(tmp_path, graphs):
    ghn = GHN("gat", "pyg", hidden=32, num_classes=1000)
    ghn.save(tmp_path / "ghn.pt")
    other = GHN.load(tmp_path / "ghn.pt", backend="dgl")
    assert other.core.backend == "dgl"
    batch = ghn.batch(graphs[-1:])
    a, b = ghn.predict(batch)[0], other.predict(other.batch(graphs[-1:]))[0]
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-5, rtol=1e-5)


def test_dgl_gatedgnn_refuses_graphs_out_of_topological_order(graphs):
    g = graphs[0]
    flipped = dataclasses.replace(g, edge_index=g.edge_index.flip(0), _virtual={})
    with pytest.raises(ValueError, match="topological order"):
        create("gatedgnn", "dgl", hidden=8)(torch.randn(g.num_nodes, 8), GraphBatch.from_graphs([flipped], max_hops=0))


def test_dgl_gatedgnn_runs_under_bf16_autocast_as_pyg_does(graphs):
    """DGL's sparse CPU kernels take no 16-bit floats: the level products run in float32 there."""
    torch.manual_seed(0)
    pyg, dgl = create("gatedgnn", "pyg", hidden=32), create("gatedgnn", "dgl", hidden=32)
    dgl.load_state_from(pyg)
    x = torch.randn(sum(g.num_nodes for g in graphs), 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_pyg = pyg(x, GraphBatch.from_graphs(graphs))
        out_dgl = dgl(x, GraphBatch.from_graphs(graphs))
    assert out_dgl.dtype == out_pyg.dtype
    torch.testing.assert_close(out_dgl.float(), out_pyg.float(), atol=0.05, rtol=0.05)


def test_ghn3_from_the_hub_predicts_alike_on_dgl(tmp_path):
    """GHN-3 (a hub file) saved and loaded with its transformer core on DGL predicts as on PyG."""
    ghn = load(Path(__file__).parents[1] / "data" / "ghn3_reference" / "ghn3_hid32_noised.pt")
    ghn.save(tmp_path / "ghn3.pt")
    other = GHN.load(tmp_path / "ghn3.pt", backend="dgl")
    assert other.core.backend == "dgl" and other.config["decoder"] == "ghn3"
    graph = [to_graph(torchvision.models.resnet18(num_classes=1000))]
    a, b = ghn.predict(ghn.batch(graph))[0], other.predict(other.batch(graph))[0]
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-5, rtol=1e-5)
