"""gat on DGL: multi-head GAT per relation, the edge's distance embedding in the attention.

DGL's GATConv takes no edge features and its EdgeGATConv adds them to the messages too (and a
self term): neither is PyG's GATConv(edge_dim). So that gat is one model on both backends, the
layer below computes PyG's formula with DGL's edge_softmax and message functions, its weights
named as PyG's."""

from __future__ import annotations

import dgl
import dgl.function as fn
import torch
import torch.nn.functional as F
from dgl.nn.functional import edge_softmax
from torch import nn

from ...base import head_width
from .stack import DGLStack


class EdgeFeatureGATConv(nn.Module):
    """alpha_vu = softmax_u(LeakyReLU(a_s.W x_u + a_d.W x_v + a_e.W_e e_uv)); out_v = sum_u alpha_vu W x_u + b."""

    def __init__(self, hidden: int, width: int, heads: int, edge_dim: int) -> None:
        super().__init__()
        self.heads, self.width = heads, width
        self.lin = nn.Linear(hidden, heads * width, bias=False)
        self.lin_edge = nn.Linear(edge_dim, heads * width, bias=False)
        self.att_src, self.att_dst, self.att_edge = (nn.Parameter(torch.empty(1, heads, width)) for _ in range(3))
        self.bias = nn.Parameter(torch.zeros(heads * width))
        for p in (self.lin.weight, self.lin_edge.weight, self.att_src, self.att_dst, self.att_edge):
            nn.init.xavier_uniform_(p)

    def forward(self, g: dgl.DGLGraph, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.lin(x).view(-1, self.heads, self.width)
        he = self.lin_edge(e).view(-1, self.heads, self.width)
        with g.local_scope():
            g.ndata.update({"h": h, "as": (h * self.att_src).sum(-1), "ad": (h * self.att_dst).sum(-1)})
            g.apply_edges(fn.u_add_v("as", "ad", "a"))
            g.edata["alpha"] = edge_softmax(g, F.leaky_relu(g.edata["a"] + (he * self.att_edge).sum(-1), 0.2))[
                ..., None
            ]
            g.update_all(fn.u_mul_e("h", "alpha", "m"), fn.sum("m", "out"))
            return g.ndata["out"].flatten(1) + self.bias


class GAT(DGLStack):
    """The shared stack (RelationalStack) of EdgeFeatureGATConv; self-loops are explicit edges of distance 0."""

    name = "gat"
    edge_input = "feature"
    self_loops = True

    def make_conv(self, hidden: int, heads: int = 4) -> EdgeFeatureGATConv:
        return EdgeFeatureGATConv(hidden, head_width(hidden, heads, self.name), heads, self.edge_dim)

    def run_conv(self, conv: EdgeFeatureGATConv, x: torch.Tensor, g: dgl.DGLGraph, attr: torch.Tensor) -> torch.Tensor:
        return conv(g, x, attr)
