import dataclasses

import pytest
import torch

from deepnets1m import GraphBatch
from gnn_zoo import available, create

from .contract import check_contract, core_cases


@pytest.mark.parametrize("name, view", core_cases("pyg"))
def test_every_core_passes_the_contract(name, view, graphs):
    check_contract(name, "pyg", view, graphs)


def test_a_core_refuses_a_view_it_cannot_take():
    with pytest.raises(ValueError, match="the gatedgnn core cannot take the 'undirected' view; it takes sweep"):
        create("gatedgnn", view="undirected")
    with pytest.raises(ValueError, match="unknown graph view 'bidirected'"):
        create("gcn", view="bidirected")


def test_views_give_different_information(graphs):
    """undirected, directed and virtual differ: a core's output changes between them, with the
    same weights where the layouts agree (directed and virtual share theirs)."""
    torch.manual_seed(0)
    directed, virtual = create("gcn", hidden=16, view="directed"), create("gcn", hidden=16, view="virtual")
    virtual.load_state_dict(directed.state_dict())
    x = torch.randn(graphs[0].num_nodes, 16)
    a = directed(x, GraphBatch.from_graphs(graphs[:1], max_hops=0))
    b = virtual(x, GraphBatch.from_graphs(graphs[:1]))
    assert not torch.allclose(a, b)


def test_only_graph_gnns_see_the_edges(graphs):
    torch.manual_seed(0)
    g = graphs[0]
    cut = dataclasses.replace(g, edge_index=g.edge_index[:, 1:], _virtual={})  # one edge dropped
    x = torch.randn(g.num_nodes, 16)
    for name in available():
        core = create(name, "pyg", hidden=16)
        same = torch.allclose(core(x, GraphBatch.from_graphs([g])), core(x, GraphBatch.from_graphs([cut])))
        assert same == (core.view == "none"), name


def naive_gated(core, x, graph, max_hops):
    """Oracle for gatedgnn: node by node in topological order, then in reverse, plain loops;
    a message sums MLP(h_u) over real neighbours and MLP_sp(h_u) / d over neighbours 1..s hops away."""
    vi, vd = graph.virtual_edges(max_hops)
    preds = [[] for _ in range(graph.num_nodes)]
    succs = [[] for _ in range(graph.num_nodes)]
    for s, d in graph.edge_index.t().tolist():
        preds[d].append((s, 0.0))
        succs[s].append((d, 0.0))
        if max_hops >= 2:  # GHN-2: 1-hop neighbours also enter the shortest-path sum, at d = 1
            preds[d].append((s, 1.0))
            succs[s].append((d, 1.0))
    for (s, d), dist in zip(vi.t().tolist(), vd.tolist()):
        preds[d].append((s, 1.0 / dist))
        succs[s].append((d, 1.0 / dist))
    h = list(x)
    for _ in range(core.layers):
        for order, nbrs in ((range(graph.num_nodes), preds), (reversed(range(graph.num_nodes)), succs)):
            for v in order:
                msg = torch.zeros_like(h[v])
                for u, w in nbrs[v]:
                    msg = msg + (core.mlp(h[u]) if w == 0 else core.mlp_sp(h[u]) * w)
                h[v] = core.gru(msg[None], h[v][None])[0]
    return torch.stack(h)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-5), (torch.float64, 1e-7)], ids=["float32", "float64"])
@pytest.mark.parametrize("max_hops", [5, 1])
def test_gatedgnn_matches_node_by_node_oracle(graphs, max_hops, dtype, tol):
    """GHN-2 (virtual edges up to 5 hops here) and GHN-1 (max_hops 1: real edges only, one MLP):
    the level-batched sweeps and their hand-written backward (gated_sweep) give the oracle's
    states and autograd's gradients through it (inputs and every weight): to float32 rounding,
    and to 1e-7 in float64 (the plan stores the edge weights 1/hops in float32)."""
    torch.manual_seed(0)
    core = create("gatedgnn", "pyg", hidden=8, layers=2, virtual_edges=max_hops >= 2).to(dtype)
    graph = graphs[0]
    x = torch.randn(graph.num_nodes, 8, dtype=dtype)
    weight = torch.randn(graph.num_nodes, 8, dtype=dtype)  # a loss that weighs every state differently

    def states_and_grads(run):
        x_ = x.clone().requires_grad_()
        out = run(x_)
        grads = torch.autograd.grad((out * weight).sum(), [x_, *core.parameters()])
        return out.detach(), grads

    fast, fast_grads = states_and_grads(lambda x_: core(x_, GraphBatch.from_graphs([graph], max_hops=max_hops)))
    slow, slow_grads = states_and_grads(lambda x_: naive_gated(core, x_, graph, max_hops))
    torch.testing.assert_close(fast, slow, atol=tol, rtol=tol)
    for a, b in zip(fast_grads, slow_grads):
        torch.testing.assert_close(a, b, atol=tol, rtol=10 * tol)


def test_gatedgnn_refuses_a_second_derivative(graphs):
    """The hand-written sweep backward gives first derivatives; a second one is a clear error."""
    core = create("gatedgnn", "pyg", hidden=8)
    x = torch.randn(graphs[0].num_nodes, 8, requires_grad=True)
    (grad,) = torch.autograd.grad(core(x, GraphBatch.from_graphs(graphs[:1])).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad.sum().backward()


def test_gatedgnn_message_mlps_of_ghn2_and_ghn1():
    """GHN-2: MLP and MLP_sp of hidden -> hidden/2 -> hidden; GHN-1: one MLP hidden -> hidden -> hidden."""
    ghn2, ghn1 = create("gatedgnn", hidden=32), create("gatedgnn", hidden=32, virtual_edges=False)
    assert [m.out_features for m in ghn2.mlp if hasattr(m, "out_features")] == [16, 32] and ghn2.mlp_sp is not None
    assert [m.out_features for m in ghn1.mlp if hasattr(m, "out_features")] == [32, 32] and ghn1.mlp_sp is None


def test_ghn1_gatedgnn_refuses_a_batch_with_virtual_edges(batch):
    core = create("gatedgnn", hidden=16, virtual_edges=False)
    with pytest.raises(ValueError, match="without virtual edges"):
        core(torch.randn(batch.num_nodes, 16), batch)


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="divisible by heads"):
        create("gat", "pyg", hidden=10, heads=4)
    with pytest.raises(ValueError, match="divisible by heads"):
        create("transformer", "pyg", hidden=10, heads=4)
    with pytest.raises(ValueError, match="must be positive"):
        create("gcn", "pyg", hidden=0)


def test_gatedgnn_refuses_graphs_out_of_topological_order(graphs):
    g = graphs[0]
    flipped = dataclasses.replace(g, edge_index=g.edge_index.flip(0), _virtual={})
    with pytest.raises(ValueError, match="topological order"):
        create("gatedgnn", "pyg", hidden=8)(torch.randn(g.num_nodes, 8), GraphBatch.from_graphs([flipped], max_hops=0))


def test_transformer_is_ghn3s_graphormer(graphs):
    """GHN-3-T's core at hidden 64 and 3 layers: 12h^2 + 10h parameters a block, 8 heads (16
    beyond hidden 64), no qkv biases, a GELU FFN of 4h; forward and backward distances are
    separate channels, so reversing every edge changes the output in the virtual view only."""
    core = create("transformer", hidden=64, layers=3)
    assert core.view == "virtual" and core.heads == 8 and create("transformer", hidden=128, layers=1).heads == 16
    assert sum(p.numel() for n, p in core.named_parameters() if n.startswith("blocks")) == 3 * (12 * 64**2 + 10 * 64)
    attn = core.blocks[0].attn
    assert attn.q_proj.bias is None and attn.k_proj.bias is None and attn.v_proj.bias is None
    assert isinstance(core.blocks[0].ffn[1], torch.nn.GELU) and core.blocks[0].ffn[0].out_features == 256
    g = graphs[0]
    flipped = dataclasses.replace(g, edge_index=g.edge_index.flip(0), _virtual={})
    x = torch.randn(g.num_nodes, 16)
    for view, changes in (("virtual", True), ("undirected", False)):
        torch.manual_seed(0)
        small = create("transformer", hidden=16, layers=1, view=view)
        a = small(x, GraphBatch.from_graphs([g]))
        b = small(x, GraphBatch.from_graphs([flipped]))
        assert (not torch.allclose(a, b)) == changes, view
