"""A GNN core of one's own, as README's "Benchmark your own GNN" shows it: mean aggregation over the
real edges both ways, mixed in by a linear layer per layer (`bench run --gnn mycore.py:MyCore`)."""

import torch
from torch import nn

from gnn_zoo import Core


class MyCore(Core):
    name = "mycore"
    views = ("undirected",)

    def __init__(self, hidden: int, layers: int = 1, view: str | None = None) -> None:
        super().__init__(hidden, layers, view)
        self.lins = nn.ModuleList(nn.Linear(2 * hidden, hidden) for _ in range(layers))

    def forward(self, x: torch.Tensor, batch) -> torch.Tensor:
        src, dst = batch.edge_index
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
        degree = x.new_zeros(len(x)).index_add_(0, dst, x.new_ones(len(dst))).clamp(min=1)[:, None]
        for lin in self.lins:
            mean = x.new_zeros(x.shape).index_add_(0, dst, x[src]) / degree
            x = x + torch.relu(lin(torch.cat([x, mean], dim=1)))
        return x
