"""The message-passing cores' shared stack, as PyG's BasicGNN: a core is the conv it builds and
how it calls it; the relations of the graph view, the residual loop and dropout live here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepnets1m.graph import DEFAULT_MAX_HOPS, GraphBatch

from .base import Core
from .views import view_edges

MAX_DISTANCE = DEFAULT_MAX_HOPS  # GHN-2's s_max: the longest shortest-path edge a view carries


class RelationalStack(Core):
    """`layers` x [x <- x + dropout(relu(sum over the view's relations r of conv_r(x, edges_r)))].

    `undirected` has one relation (the real edges both ways); `directed` and `virtual` two,
    forward and backward edges, each with weights of its own, as relational GNNs (R-GCN) do.
    An edge's hop distance (1 for real edges, 0 for self-loops) reaches the conv as GHN-2's
    1/d weight (`edge_input = "weight"`) or as a learned embedding shared by all layers and
    relations (`"feature"`). Backends provide `relation_graphs`; a core, `make_conv` and `run_conv`.
    """

    views = ("undirected", "directed", "virtual")
    edge_input = "weight"
    self_loops = False  # whether the relation graphs carry explicit self-loops (distance 0)
    edge_features_add_to_nodes = False  # the conv adds edge features to node states (GINE): edge_dim must be hidden

    def __init__(
        self,
        hidden: int,
        layers: int = 2,
        view: str = "virtual",
        dropout: float = 0.0,
        edge_dim: int | None = None,
        **conv_kwargs,
    ) -> None:
        super().__init__(hidden, layers, view)
        self.dropout, self.edge_dim = dropout, edge_dim or hidden
        if self.edge_features_add_to_nodes and self.edge_dim != hidden:
            raise ValueError(
                f"{self.name} adds edge embeddings to node states: edge_dim ({self.edge_dim}) must be hidden ({hidden})"
            )
        relations = 1 if self.view == "undirected" else 2
        self.convs = nn.ModuleList(
            nn.ModuleList(self.make_conv(hidden, **conv_kwargs) for _ in range(relations)) for _ in range(layers)
        )
        self.distance = nn.Embedding(MAX_DISTANCE + 1, self.edge_dim) if self.edge_input == "feature" else None

    # A core provides these two, each with its own keyword arguments:
    # make_conv(hidden, **conv_kwargs) -> one conv of one relation and layer;
    # run_conv(conv, x, graph, edge) -> `conv` on `graph` (the backend's structure) with per-edge
    # `edge` weights or features.
    make_conv: Callable[..., nn.Module]
    run_conv: Callable[..., torch.Tensor]

    def relation_graphs(self, batch: GraphBatch) -> list[tuple[Any, torch.Tensor]]:
        """(backend graph, hop distance per edge) of each relation of the view."""
        raise NotImplementedError

    def relation_edges(self, batch: GraphBatch) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """(src, dst, hop distance) of each relation of the view, with a distance-0 self-loop per
        node where the conv wants them explicit (`self_loops`)."""
        edges, out = view_edges(batch, self.view), []
        loops = torch.arange(batch.num_nodes, device=batch.edge_index.device)
        for r in range(edges.num_relations):
            src, dst, dist = edges.of_relation(r)
            if self.self_loops:
                src, dst, dist = torch.cat([src, loops]), torch.cat([dst, loops]), torch.cat([dist, 0 * loops])
            out.append((src, dst, dist))
        return out

    def edge_values(self, distance: torch.Tensor) -> torch.Tensor:
        """What the conv gets per edge: 1/d (self-loops 1), or the distance's embedding."""
        if self.edge_input == "weight":
            return 1.0 / distance.clamp(min=1).float()
        assert self.distance is not None
        return self.distance(distance.clamp(max=MAX_DISTANCE))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        relations = [(graph, self.edge_values(d)) for graph, d in self.relation_graphs(batch)]
        for layer in self.convs:
            assert isinstance(layer, nn.ModuleList)
            out = functools.reduce(
                torch.add, [self.run_conv(conv, x, graph, edge) for conv, (graph, edge) in zip(layer, relations)]
            )
            x = x + F.dropout(F.relu(out), self.dropout, self.training)
        return x
