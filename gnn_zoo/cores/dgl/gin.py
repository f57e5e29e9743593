"""gin on DGL: GINEConv per relation (GIN-0 with the edge's distance embedding added to messages)."""

from __future__ import annotations

import dgl
import torch
from dgl.nn.pytorch import GINEConv
from torch import nn

from ...base import two_layer_mlp
from .stack import DGLStack


class GIN(DGLStack):
    """The shared stack (RelationalStack) of GINEConv: MLP(x + sum of relu(x_j + e_ji))."""

    name = "gin"
    edge_input = "feature"
    edge_features_add_to_nodes = True
    pyg_renames = ((".apply_func.", ".nn."),)

    def make_conv(self, hidden: int, mlp_width: int | None = None) -> nn.Module:
        return GINEConv(two_layer_mlp(hidden, mlp_width))

    def run_conv(self, conv: GINEConv, x: torch.Tensor, g: dgl.DGLGraph, attr: torch.Tensor) -> torch.Tensor:
        return conv(g, x, attr)
