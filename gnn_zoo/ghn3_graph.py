"""A net's graph as GHN-3's tracer sees it. The reference GHN-3 code builds its graphs from the
autograd graph of one forward pass, which differs from ours (deepnets1m.to_graph) on two things
torchvision's ViTs have, so GHN-3 predicts them as the reference does only on this view:

- torch's fused attention inside nn.MultiheadAttention leaves no node the reference recognises:
  its in-projection feeds the out-projection directly (ours puts an `msa` node between them);
- a class token, a (1, 1, C) parameter concatenated to the tokens, is not a graph node there
  (the reference does not predict it: it keeps its init), nor is the concat it fed.

Nets without them (every DeepNets-1M net, the ResNets) keep their graph unchanged.
"""

from __future__ import annotations

import weakref

import torch

from deepnets1m.graph import ArchGraph
from deepnets1m.node_types import NODE_TYPE_ID

IN_PROJECTION = ("in_proj_weight", "in_proj_bias")  # nn.MultiheadAttention's packed q, k, v projection
VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # graph -> its GHN-3 view, built once


def class_tokens(graph: ArchGraph) -> set[int]:
    """pos_enc nodes whose parameter is a single token, (1, 1, C)."""
    types = graph.node_types.tolist()
    return {
        node
        for node, shape in zip(graph.param_node.tolist(), graph.param_shapes)
        if types[node] == NODE_TYPE_ID["pos_enc"] and len(shape) == 3 and tuple(shape[:2]) == (1, 1)
    }


def predecessors(graph: ArchGraph) -> list[list[int]]:
    """The inputs of every node."""
    preds: list[list[int]] = [[] for _ in range(graph.num_nodes)]
    for u, v in graph.edge_index.t().tolist():
        preds[v].append(u)
    return preds


def ghn3_view(graph: ArchGraph) -> ArchGraph:
    """`graph` without class-token nodes, and with the attention node of each nn.MultiheadAttention
    and each concat left with one input contracted (their inputs wired to their outputs); the
    graph itself when it has none. Memoised per graph."""
    if graph in VIEWS:
        return VIEWS[graph]
    types, preds = graph.node_types.tolist(), predecessors(graph)
    drop = class_tokens(graph)
    in_projection = {
        node
        for name, node in zip(graph.param_names, graph.param_node.tolist())
        if name.rsplit(".", 1)[-1] in IN_PROJECTION
    }
    contract = {v for v in range(graph.num_nodes) if types[v] == NODE_TYPE_ID["msa"] and set(preds[v]) & in_projection}
    contract |= {
        v
        for v in range(graph.num_nodes)
        if types[v] == NODE_TYPE_ID["concat"] and drop & set(preds[v]) and len(set(preds[v]) - drop) == 1
    }
    if not drop and not contract:
        VIEWS[graph] = graph
        return graph
    inputs: list[set[int]] = []  # kept inputs of each node, through contracted ones (nodes are in topological order)
    for v in range(graph.num_nodes):
        ins: set[int] = set()
        for u in preds[v]:
            if u not in drop:
                ins |= inputs[u] if u in contract else {u}
        inputs.append(ins)
    kept = [v for v in range(graph.num_nodes) if v not in drop and v not in contract]
    new = {v: i for i, v in enumerate(kept)}
    edges = sorted((new[u], new[v]) for v in kept for u in inputs[v])
    level = [0] * len(kept)
    for u, v in edges:  # sorted by source, which precedes its targets: levels are final when read
        level[v] = max(level[v], level[u] + 1)
    params = [p for p, node in enumerate(graph.param_node.tolist()) if node not in drop]
    view = ArchGraph(
        node_types=graph.node_types[kept],
        edge_index=torch.tensor(edges, dtype=torch.long).t().reshape(2, -1),
        level=torch.tensor(level, dtype=torch.long),
        node_names=[graph.node_names[v] for v in kept],
        param_names=[graph.param_names[p] for p in params],
        param_shapes=[graph.param_shapes[p] for p in params],
        param_node=torch.tensor([new[int(graph.param_node[p])] for p in params], dtype=torch.long),
        output=None if graph.output is None else new[graph.output],
    )
    VIEWS[graph] = view
    return view
