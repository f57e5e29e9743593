"""gcn on PyG: residual stack of GCNConv over the undirected graph with self-loops."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv

from deepnets1m.graph import GraphBatch

from ...base import Core
from .graphs import undirected_edges


class GCN(Core):
    """x <- x + relu(GCNConv(x)), `layers` times (Kipf & Welling normalisation)."""

    backend, name = "pyg", "gcn"

    def __init__(self, hidden: int, layers: int = 2) -> None:
        super().__init__(hidden, layers)
        self.convs = nn.ModuleList(GCNConv(hidden, hidden) for _ in range(layers))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        edges = undirected_edges(batch)
        for conv in self.convs:
            x = x + F.relu(conv(x, edges))
        return x
