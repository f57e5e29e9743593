"""ArchGraph (one network's typed computational graph) and GraphBatch (many, concatenated)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .node_types import NODE_TYPES

DEFAULT_MAX_HOPS = 50  # GHN-2's s: virtual edges join nodes at most this many hops apart


@dataclass(eq=False)
class ArchGraph:
    """Typed DAG of one network: nodes in topological order, real edges, and parameter ownership.

    Node i is the i-th operation in execution order, so `arange(N)` is a topological order and
    every edge goes from a lower to a higher index. Parameter p (name `param_names[p]`, shape
    `param_shapes[p]`) is owned by node `param_node[p]`; every parameter has exactly one owner.
    """

    node_types: torch.Tensor  # int64 [N], indices into NODE_TYPES
    edge_index: torch.Tensor  # int64 [2, E], real edges src -> dst
    level: torch.Tensor  # int64 [N], longest path length from a source node
    node_names: list[str]
    param_names: list[str]
    param_shapes: list[tuple[int, ...]]
    param_node: torch.Tensor  # int64 [P]
    _virtual: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict, repr=False)
    # the node computing the network's output (its first tensor output, for models that return
    # several): known for traced modules; None means the last node, as in DeepNets-1M nets
    output: int | None = field(default=None, repr=False)

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_types.numel())

    @property
    def num_edges(self) -> int:
        """Number of real (directed) edges."""
        return int(self.edge_index.shape[1])

    @property
    def num_params(self) -> int:
        """Total number of scalar parameters of the network."""
        return sum(math.prod(s) for s in self.param_shapes)

    def params_of(self, node: int) -> list[tuple[str, tuple[int, ...]]]:
        """Names and shapes of the parameter tensors that `node` owns."""
        idx = (self.param_node == node).nonzero().flatten().tolist()
        return [(self.param_names[p], self.param_shapes[p]) for p in idx]

    def type_names(self) -> list[str]:
        """Node types as strings."""
        return [NODE_TYPES[t] for t in self.node_types.tolist()]

    def virtual_edges(self, max_hops: int = DEFAULT_MAX_HOPS) -> tuple[torch.Tensor, torch.Tensor]:
        """Pairs (i, j) with a directed shortest path of 2..max_hops hops, and that hop count.

        Computed on demand (scipy's Dijkstra on the sparse adjacency, all sources at once) and
        memoised per `max_hops`, so the GHN's s is a model choice, not a property of the cache.
        """
        if max_hops not in self._virtual:
            self._virtual[max_hops] = shortest_path_pairs(self.edge_index, self.num_nodes, max_hops)
        return self._virtual[max_hops]

    def same_structure(self, other: ArchGraph) -> bool:
        """True when node types, edges and parameter ownership (names, shapes) all match."""
        return (
            torch.equal(self.node_types, other.node_types)
            and torch.equal(self.edge_index, other.edge_index)
            and self.param_names == other.param_names
            and self.param_shapes == other.param_shapes
            and torch.equal(self.param_node, other.param_node)
        )


def shortest_path_pairs(edge_index: torch.Tensor, num_nodes: int, max_hops: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Directed pairs at hop distance 2..max_hops: ([2, V] int64 index, [V] int64 distance)."""
    if max_hops < 2 or num_nodes == 0 or edge_index.numel() == 0:
        return torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    src, dst = edge_index.numpy()
    adj = csr_matrix((np.ones(len(src), dtype=np.float32), (src, dst)), shape=(num_nodes, num_nodes))
    dist = dijkstra(adj, directed=True, unweighted=True, limit=max_hops)
    vi, vj = np.nonzero((dist >= 2) & (dist <= max_hops))
    index = torch.from_numpy(np.stack([vi, vj]).astype(np.int64))
    return index, torch.from_numpy(dist[vi, vj].astype(np.int64))


@dataclass(eq=False)
class GraphBatch:
    """Several ArchGraphs concatenated into one disconnected graph, with a `batch` vector as in PyG."""

    node_types: torch.Tensor  # [sum N]
    edge_index: torch.Tensor  # [2, sum E], offset per graph
    virtual_index: torch.Tensor  # [2, sum V], offset per graph
    virtual_dist: torch.Tensor  # [sum V]
    level: torch.Tensor  # [sum N]
    batch: torch.Tensor  # [sum N], graph id of each node
    ptr: torch.Tensor  # [G + 1], node offsets
    graphs: list[ArchGraph]
    max_hops: int
    cache: dict = field(default_factory=dict, repr=False)  # backends' converted structures, built once

    @classmethod
    def from_graphs(cls, graphs: list[ArchGraph], max_hops: int = DEFAULT_MAX_HOPS) -> GraphBatch:
        """Concatenate `graphs`, shifting edge indices by each graph's node offset."""
        if not graphs:
            raise ValueError("GraphBatch.from_graphs needs at least one graph")
        sizes = torch.tensor([g.num_nodes for g in graphs])
        ptr = torch.zeros(len(graphs) + 1, dtype=torch.long)
        ptr[1:] = sizes.cumsum(0)
        virtual = [g.virtual_edges(max_hops) for g in graphs]
        return cls(
            node_types=torch.cat([g.node_types for g in graphs]),
            edge_index=torch.cat([g.edge_index + o for g, o in zip(graphs, ptr)], dim=1),
            virtual_index=torch.cat([v[0] + o for v, o in zip(virtual, ptr)], dim=1),
            virtual_dist=torch.cat([v[1] for v in virtual]),
            level=torch.cat([g.level for g in graphs]),
            batch=torch.repeat_interleave(torch.arange(len(graphs)), sizes),
            ptr=ptr,
            graphs=list(graphs),
            max_hops=max_hops,
        )

    def to(self, device: torch.device | str) -> GraphBatch:
        """This batch with its tensors on `device` (itself if they are there already; the
        backends' converted structures are rebuilt on the new device)."""
        device = torch.device(device)
        if self.edge_index.device == device:
            return self
        tensors = {
            f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **{k: t.to(device) for k, t in tensors.items()}, cache={})

    @property
    def num_graphs(self) -> int:
        """Number of graphs in the batch."""
        return len(self.graphs)

    @property
    def num_nodes(self) -> int:
        """Total number of nodes."""
        return int(self.node_types.numel())
