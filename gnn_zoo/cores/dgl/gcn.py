"""gcn on DGL: residual stack of GraphConv over the undirected graph with self-loops."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from dgl.nn.pytorch import GraphConv
from torch import nn

from deepnets1m.graph import GraphBatch

from ...base import Core
from .graphs import undirected_graph


class GCN(Core):
    """x <- x + relu(GraphConv(x)), `layers` times; symmetric normalisation as PyG's GCNConv."""

    backend, name = "dgl", "gcn"
    pyg_renames = ((".weight", ".lin.weight"),)
    pyg_transposed = (".weight",)

    def __init__(self, hidden: int, layers: int = 2) -> None:
        super().__init__(hidden, layers)
        self.convs = nn.ModuleList(GraphConv(hidden, hidden, norm="both") for _ in range(layers))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        g = undirected_graph(batch, self_loops=True)
        for conv in self.convs:
            x = x + F.relu(conv(g, x))
        return x
