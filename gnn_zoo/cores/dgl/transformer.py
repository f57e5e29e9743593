"""transformer on DGL: GHN-3's Graphormer (see GraphTransformerBase) from DGL's GraphormerLayer
(pre-LN, GELU FFN), its qkv projections rebuilt without bias as GHN-3 has them."""

from __future__ import annotations

import torch
from dgl.nn.pytorch import GraphormerLayer
from torch import nn

from ..transformer import GraphTransformerBase


def ghn3_block(dim: int, ffn_dim: int, heads: int) -> GraphormerLayer:
    """DGL's GraphormerLayer as GHN-3's block: pre-LN, GELU, no dropout, qkv without bias."""
    block = GraphormerLayer(dim, ffn_dim, heads, norm_first=True, dropout=0.0, attn_dropout=0.0, activation=nn.GELU())
    for name in ("q_proj", "k_proj", "v_proj"):
        setattr(block.attn, name, nn.Linear(dim, dim, bias=False))
    return block


class GraphTransformer(GraphTransformerBase):
    """GHN-3's graph transformer on DGL."""

    backend = "dgl"

    def make_block(self, dim: int, ffn_dim: int, heads: int) -> nn.Module:
        return ghn3_block(dim, ffn_dim, heads)

    def attend(self, dense: torch.Tensor, bias: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        mask = ~valid[:, None, :].expand(-1, dense.shape[1], -1)
        for block in self.blocks:
            dense = block(dense, bias, mask)
        return dense
