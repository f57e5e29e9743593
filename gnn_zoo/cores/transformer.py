"""What the graph-transformer cores of both backends share: hyper-parameters and module layout."""
from __future__ import annotations

from torch import nn

from ..base import Core, head_width


class GraphTransformerBase(Core):
    """GHN-3-style Graphormer: x + in/out-degree embeddings, then `layers` pre-LN blocks whose
    attention within each graph is biased per head by the shortest-path distance (undirected,
    clamped to max_dist). Backends provide the encoder classes and `make_block`."""

    name = "transformer"
    views = ("undirected",)  # its attention bias is the undirected hop distance
    degree_encoder_cls: type[nn.Module]
    spatial_encoder_cls: type[nn.Module]

    def __init__(self, hidden: int, layers: int = 2, view: str = "undirected", heads: int = 4, max_degree: int = 16,
                 max_dist: int = 16, ffn_mult: int = 2) -> None:
        super().__init__(hidden, layers, view)
        head_width(hidden, heads, self.name)
        self.degree_encoder = self.degree_encoder_cls(max_degree, hidden)
        self.spatial_encoder = self.spatial_encoder_cls(max_dist, heads)
        self.blocks = nn.ModuleList(self.make_block(hidden, ffn_mult * hidden, heads) for _ in range(layers))

    def make_block(self, dim: int, ffn_dim: int, heads: int) -> nn.Module:
        """One transformer block."""
        raise NotImplementedError
