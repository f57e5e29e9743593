from collections import deque

import pytest
import torch

from deepnets1m import GraphBatch, sample, spec_graph


def bfs_hops(edge_index, n, source):
    """Oracle: directed hop distances from `source` by breadth-first search."""
    adj = [[] for _ in range(n)]
    for s, d in edge_index.t().tolist():
        adj[s].append(d)
    dist, queue = {source: 0}, deque([source])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in dist:
                dist[v] = dist[u] + 1
                queue.append(v)
    return dist


@pytest.mark.parametrize("max_hops", [2, 5, 50])
def test_virtual_edges_match_breadth_first_search(max_hops):
    g = spec_graph(sample("val", 3))
    index, dist = g.virtual_edges(max_hops)
    got = {(s, d): h for (s, d), h in zip(index.t().tolist(), dist.tolist())}
    want = {}
    for s in range(g.num_nodes):
        for d, h in bfs_hops(g.edge_index, g.num_nodes, s).items():
            if 2 <= h <= max_hops:
                want[(s, d)] = h
    assert got == want and want


def test_virtual_edges_are_memoised_per_hop_limit():
    g = spec_graph(sample("val", 4))
    assert g.virtual_edges(7) is g.virtual_edges(7)
    assert g.virtual_edges(1)[0].shape == (2, 0)


def test_levels_are_longest_paths():
    g = spec_graph(sample("val", 5))
    level = [0] * g.num_nodes
    for s, d in sorted(g.edge_index.t().tolist(), key=lambda e: e[1]):
        level[d] = max(level[d], level[s] + 1)
    assert g.level.tolist() == level


def test_graph_batch_offsets():
    graphs = [spec_graph(sample("val", i)) for i in range(3)]
    b = GraphBatch.from_graphs(graphs, max_hops=10)
    sizes = [g.num_nodes for g in graphs]
    assert b.num_graphs == 3 and b.num_nodes == sum(sizes)
    assert b.ptr.tolist() == [0, sizes[0], sizes[0] + sizes[1], sum(sizes)]
    assert torch.equal(b.batch, torch.repeat_interleave(torch.arange(3), torch.tensor(sizes)))
    second = b.edge_index[:, graphs[0].num_edges : graphs[0].num_edges + graphs[1].num_edges]
    assert torch.equal(second - sizes[0], graphs[1].edge_index)
    assert (b.batch[b.edge_index[0]] == b.batch[b.edge_index[1]]).all()
    assert (b.batch[b.virtual_index[0]] == b.batch[b.virtual_index[1]]).all()
    assert b.virtual_dist.max() <= 10


def test_graph_batch_needs_graphs():
    with pytest.raises(ValueError, match="at least one graph"):
        GraphBatch.from_graphs([])


def test_graph_batch_moves_to_a_device():
    from deepnets1m import GraphBatch, sample, spec_graph

    batch = GraphBatch.from_graphs([spec_graph(sample("val", i)) for i in range(2)])
    batch.cache["x"] = 1
    assert batch.to("cpu") is batch
    moved = batch.to("meta")
    assert moved.edge_index.device.type == "meta" and moved.virtual_dist.device.type == "meta"
    assert moved.ptr.device.type == "meta" and moved.cache == {} and moved.graphs is batch.graphs
