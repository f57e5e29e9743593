"""gat on PyG: multi-head GATConv per relation, the edge's distance embedding in the attention."""

from __future__ import annotations

import torch
from torch_geometric.nn import GATConv

from ...base import head_width
from .stack import PyGStack


class GAT(PyGStack):
    """The shared stack (RelationalStack) of GATConv with `heads` concatenated heads; self-loops
    are explicit edges of distance 0, so they get an edge embedding of their own."""

    name = "gat"
    edge_input = "feature"
    self_loops = True

    def make_conv(self, hidden: int, heads: int = 4) -> GATConv:
        return GATConv(
            hidden, head_width(hidden, heads, self.name), heads=heads, edge_dim=self.edge_dim, add_self_loops=False
        )

    def run_conv(self, conv: GATConv, x: torch.Tensor, edges: torch.Tensor, attr: torch.Tensor) -> torch.Tensor:
        return conv(x, edges, attr)
