"""gcn on PyG: GCNConv per relation (Kipf & Welling normalisation, self-loops), 1/d edge weights."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import GCNConv

from .stack import PyGStack


class GCN(PyGStack):
    """The shared stack (RelationalStack) of GCNConv."""

    name = "gcn"

    def make_conv(self, hidden: int) -> nn.Module:
        return GCNConv(hidden, hidden)

    def run_conv(self, conv: GCNConv, x: torch.Tensor, edges: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return conv(x, edges, weight)
