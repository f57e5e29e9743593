"""gat on DGL: residual stack of multi-head GATConv over the undirected graph with self-loops."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from dgl.nn.pytorch import GATConv
from torch import nn

from deepnets1m.graph import GraphBatch

from ...base import Core, head_width
from .graphs import undirected_graph


class GAT(Core):
    """x <- x + relu(GATConv(x)) with `heads` concatenated heads, `layers` times."""

    backend, name = "dgl", "gat"
    pyg_renames = ((".attn_l", ".att_src"), (".attn_r", ".att_dst"), (".fc.", ".lin."))

    def __init__(self, hidden: int, layers: int = 2, heads: int = 4) -> None:
        super().__init__(hidden, layers)
        width = head_width(hidden, heads, "gat")
        self.convs = nn.ModuleList(GATConv(hidden, width, heads, negative_slope=0.2, bias=True) for _ in range(layers))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        g = undirected_graph(batch, self_loops=True)
        for conv in self.convs:
            x = x + F.relu(conv(g, x).flatten(1))
        return x
