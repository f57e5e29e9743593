"""mlp: the graph-free baseline (each node alone); identical on both backends, it needs neither."""

from __future__ import annotations

import torch
from torch import nn

from deepnets1m.graph import GraphBatch

from ..base import Core, two_layer_mlp


class MLPCore(Core):
    """GHN-2's MLP ablation: every node alone through `layers` MLPs hidden -> hidden -> hidden
    with ReLUs (the reference's node-wise MLP at layers=1), no message passing."""

    name = "mlp"
    views = ("none",)

    def __init__(self, hidden: int, layers: int = 1, view: str = "none") -> None:
        super().__init__(hidden, layers, view)
        self.mlps = nn.Sequential(*(two_layer_mlp(hidden, final_relu=True) for _ in range(layers)))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        return self.mlps(x)
