"""gin on DGL: residual stack of GINConv (sum aggregation, MLP update) over the undirected graph."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from dgl.nn.pytorch import GINConv
from torch import nn

from deepnets1m.graph import GraphBatch

from ...base import Core, residual_mlp
from .graphs import undirected_graph


class GIN(Core):
    """x <- x + relu(MLP(x + sum of neighbours)), `layers` times (eps = 0, as GIN-0)."""

    backend, name = "dgl", "gin"
    pyg_renames = ((".apply_func.", ".nn."),)

    def __init__(self, hidden: int, layers: int = 2) -> None:
        super().__init__(hidden, layers)
        self.convs = nn.ModuleList(GINConv(residual_mlp(hidden), "sum") for _ in range(layers))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        g = undirected_graph(batch)
        for conv in self.convs:
            x = x + F.relu(conv(g, x))
        return x
