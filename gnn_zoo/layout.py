"""What the GHN needs to know of each graph: node shape features and each parameter's role."""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from deepnets1m.graph import ArchGraph, GraphBatch
from deepnets1m.node_types import NODE_TYPE_ID

NORM_TYPES = (NODE_TYPE_ID["bn"], NODE_TYPE_ID["ln"])
BIAS_TYPE = NODE_TYPE_ID["bias"]
POS_ENC_TYPE = NODE_TYPE_ID["pos_enc"]
EXTENDABLE_TYPE = NODE_TYPE_ID["extendable"]
POOL_TYPES = (NODE_TYPE_ID["max_pool"], NODE_TYPE_ID["avg_pool"])
POOL_SHAPE = (1, 1, 3, 3)  # GHN-2's stored graphs give every pool node this shape (DeepNets-1M pools are 3x3)
ROLES = ("weight", "classifier", "classifier_bias", "norm_weight", "vector", "pos_enc")


@dataclass
class ParamSlot:
    """One parameter to predict: which graph, its name and shape, the node it is decoded from."""

    graph: int
    name: str
    shape: tuple[int, ...]
    node: int  # index in the batch
    role: str

    @property
    def fan_in(self) -> int:
        """Inputs feeding one output unit (in-channels x kernel size)."""
        return max(1, math.prod(self.shape[1:]))


def output_node(graph: ArchGraph) -> int:
    """The node that computes the network's output: the one the trace found (a model's first
    tensor output), else the last node in execution order, isolated `extendable` nodes
    (parameters never used in forward, appended after the trace) left out."""
    if graph.output is not None:
        return graph.output
    types = graph.node_types.tolist()
    for node in reversed(range(len(types))):
        if types[node] != EXTENDABLE_TYPE:
            return node
    return len(types) - 1


HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # graph -> head_node, found once per graph


def head_node(graph: ArchGraph) -> int | None:
    """Of the nodes owning a weight (>= 2-D, positional encodings aside), the one fewest hops
    before the output node (ties: the later): the network's last layer. Memoised per graph
    (GHN.__call__ asks twice; spec graphs are cached and met again at every training step)."""
    if graph not in HEADS:
        HEADS[graph] = find_head_node(graph)
    return HEADS[graph]


def find_head_node(graph: ArchGraph) -> int | None:
    """head_node, computed: a shortest-path search back from the output node."""
    types = graph.node_types.tolist()
    weights = sorted(
        {
            node
            for node, shape in zip(graph.param_node.tolist(), graph.param_shapes)
            if len(shape) >= 2 and types[node] != POS_ENC_TYPE
        }
    )
    if not weights:
        return None
    src, dst = graph.edge_index.numpy()
    n = graph.num_nodes
    backwards = csr_matrix((np.ones(len(src), dtype=np.float32), (dst, src)), shape=(n, n))
    hops = dijkstra(backwards, directed=True, unweighted=True, indices=output_node(graph))
    reachable = [node for node in weights if np.isfinite(hops[node])]
    return min(reachable, key=lambda v: (hops[v], -v)) if reachable else None


def head_shape(graph: ArchGraph) -> tuple[int, ...] | None:
    """The weight shape of the network's last layer (head_node), if it has one."""
    node = head_node(graph)
    return None if node is None else tuple(graph.params_of(node)[0][1])


def classifier_node(graph: ArchGraph, num_classes: int) -> int | None:
    """The classification layer: the last layer (head_node) when its weight is 2-D with
    `num_classes` rows. So an embedding table or an auxiliary head that happens to have
    `num_classes` rows is never taken for it, nor an earlier Linear when the head is a conv."""
    node = head_node(graph)
    if node is None:
        return None
    shape = graph.params_of(node)[0][1]
    return node if len(shape) == 2 and shape[0] == num_classes else None


def classifier_bias_node(graph: ArchGraph, cls: int) -> int | None:
    """The bias node of the classification layer `cls`: the bias-type node it feeds directly."""
    src, dst = graph.edge_index
    types = graph.node_types
    after = dst[(src == cls) & (types[dst] == BIAS_TYPE)].tolist()
    return after[0] if after else None


def param_slots(batch: GraphBatch, num_classes: int) -> list[ParamSlot]:
    """Every parameter of every graph in the batch with its decoding role (built once per batch).
    The classifier's bias is decoded from its own bias node, as in the reference."""
    key = ("ghn_slots", num_classes)
    if key in batch.cache:
        return batch.cache[key]
    slots = []
    for gi, (graph, offset) in enumerate(zip(batch.graphs, batch.ptr.tolist())):
        types = graph.node_types.tolist()
        owners = graph.param_node.tolist()
        cls = classifier_node(graph, num_classes)
        cls_bias = classifier_bias_node(graph, cls) if cls is not None else None
        seen_norm: set[int] = set()
        for name, shape, node in zip(graph.param_names, graph.param_shapes, owners):
            if node == cls and len(shape) == 2:
                role = "classifier"
            elif node == cls_bias and len(shape) == 1:
                role = "classifier_bias"
            elif len(shape) >= 2:
                role = "pos_enc" if types[node] == POS_ENC_TYPE else "weight"
            elif types[node] in NORM_TYPES and node not in seen_norm:
                role = "norm_weight"
                seen_norm.add(node)
            else:
                role = "vector"
            slots.append(ParamSlot(gi, name, tuple(shape), node + offset, role))
    batch.cache[key] = slots
    return slots


def token_grid(shape: tuple[int, ...]) -> int | None:
    """The grid side of a (1, tokens, channels) positional encoding (floor of sqrt(tokens): a ViT's
    14 x 14 patches and its class token), None for any other shape."""
    if len(shape) == 3 and shape[0] == 1 and min(shape[1:]) > 1:
        return math.isqrt(shape[1])
    return None


def node_shapes(batch: GraphBatch, token_grids: bool = False) -> torch.Tensor:
    """[N, 4] shape of each node's first parameter (out, in, kh, kw), zeros for missing dims;
    pool nodes (max, avg) have GHN-2's (1, 1, 3, 3), whatever their kernel (section 5). With
    `token_grids` (GHN-3), a (1, tokens, C) positional encoding is (1, C, side, side), side the
    floor of sqrt(tokens). Built on the CPU from the graphs, whatever device the batch is on (the
    caller moves it)."""
    key = "ghn_shapes_grid" if token_grids else "ghn_shapes"
    if key not in batch.cache:
        out = torch.zeros(batch.num_nodes, 4, dtype=torch.long)
        pools = (batch.node_types.cpu()[:, None] == torch.tensor(POOL_TYPES)).any(1)
        out[pools] = torch.tensor(POOL_SHAPE)
        for graph, offset in zip(batch.graphs, batch.ptr.tolist()):
            done: set[int] = set()
            for shape, node in zip(graph.param_shapes, graph.param_node.tolist()):
                if node not in done:
                    done.add(node)
                    dims = list(shape[:3]) + ([math.prod(shape[3:])] if len(shape) > 3 else [])
                    side = token_grid(shape) if token_grids else None
                    if side is not None:
                        dims = [1, shape[2], side, side]
                    out[node + offset, : len(dims)] = torch.tensor(dims)
        batch.cache[key] = out
    return batch.cache[key]
