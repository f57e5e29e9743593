"""mlp: the graph-free baseline (each node alone); identical on both backends, it needs neither."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepnets1m.graph import GraphBatch

from ..base import Core, residual_mlp


class MLPCore(Core):
    """`layers` residual MLP blocks applied to every node independently (GHN-2's MLP ablation)."""

    name = "mlp"

    def __init__(self, hidden: int, layers: int = 1) -> None:
        super().__init__(hidden, layers)
        self.mlps = nn.ModuleList(residual_mlp(hidden) for _ in range(layers))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        for mlp in self.mlps:
            x = x + F.relu(mlp(x))
        return x
