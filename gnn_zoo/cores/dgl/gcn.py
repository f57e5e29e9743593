"""gcn on DGL: GraphConv per relation, 1/d edge weights normalised as PyG's GCNConv does."""

from __future__ import annotations

import dgl
import torch
from dgl.nn.pytorch import GraphConv
from torch import nn

from .stack import DGLStack


def gcn_weights(g: dgl.DGLGraph, weight: torch.Tensor) -> torch.Tensor:
    """w_uv / sqrt(deg(u) deg(v)) with deg the weighted in-degree: PyG's gcn_norm (DGL's
    EdgeWeightNorm uses out-degrees at the source, which differs on directed relations)."""
    deg = torch.zeros(g.num_nodes(), dtype=weight.dtype, device=weight.device).index_add_(0, g.edges()[1], weight)
    inv = deg.pow(-0.5).masked_fill(deg == 0, 0)
    src, dst = g.edges()
    return inv[src] * weight * inv[dst]


class GCN(DGLStack):
    """The shared stack (RelationalStack) of GraphConv, with PyG's self-loops and normalisation."""

    name = "gcn"
    self_loops = True
    pyg_renames = ((".weight", ".lin.weight"),)
    pyg_transposed = (".weight",)

    def make_conv(self, hidden: int) -> nn.Module:
        return GraphConv(hidden, hidden, norm="none")

    def run_conv(self, conv: GraphConv, x: torch.Tensor, g: dgl.DGLGraph, weight: torch.Tensor) -> torch.Tensor:
        return conv(g, x, edge_weight=gcn_weights(g, weight))
