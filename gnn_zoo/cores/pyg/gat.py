"""gat on PyG: residual stack of multi-head GATConv over the undirected graph with self-loops."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATConv

from deepnets1m.graph import GraphBatch

from ...base import Core, head_width
from .graphs import undirected_edges


class GAT(Core):
    """x <- x + relu(GATConv(x)) with `heads` concatenated heads, `layers` times."""

    backend, name = "pyg", "gat"

    def __init__(self, hidden: int, layers: int = 2, heads: int = 4) -> None:
        super().__init__(hidden, layers)
        width = head_width(hidden, heads, "gat")
        self.convs = nn.ModuleList(GATConv(hidden, width, heads=heads) for _ in range(layers))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        edges = undirected_edges(batch)
        for conv in self.convs:
            x = x + F.relu(conv(x, edges))
        return x
