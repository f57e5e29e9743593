"""transformer on PyG: GHN-3's Graphormer (see GraphTransformerBase). PyG has no Graphormer layer;
the block below mirrors DGL's GraphormerLayer name for name, so weights move between backends
unchanged. Attention itself is torch's scaled_dot_product_attention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..transformer import GraphTransformerBase


class BiasedMHA(nn.Module):
    """Multi-head attention with an additive per-head bias and a key mask; qkv without bias."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.num_heads, dim // self.num_heads).transpose(1, 2)

        attn_mask = bias.permute(0, 3, 1, 2).masked_fill(mask[:, None], float("-inf"))
        out = F.scaled_dot_product_attention(
            heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)), attn_mask=attn_mask
        )
        return self.out_proj(out.transpose(1, 2).reshape(b, n, dim))


class GraphormerLayer(nn.Module):
    """Pre-LayerNorm transformer block: x + MHA(LN(x)), then x + FFN(LN(x)) with a GELU FFN."""

    def __init__(self, dim: int, ffn_dim: int, num_heads: int) -> None:
        super().__init__()
        self.attn = BiasedMHA(dim, num_heads)
        self.ffn = nn.Sequential(
            nn.Linear(dim, ffn_dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(ffn_dim, dim), nn.Dropout(0.0)
        )
        self.attn_layer_norm = nn.LayerNorm(dim)
        self.ffn_layer_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_layer_norm(x), bias, mask)
        return x + self.ffn(self.ffn_layer_norm(x))


class GraphTransformer(GraphTransformerBase):
    """GHN-3's graph transformer on PyG."""

    backend = "pyg"

    def make_block(self, dim: int, ffn_dim: int, heads: int) -> nn.Module:
        return GraphormerLayer(dim, ffn_dim, heads)

    def attend(self, dense: torch.Tensor, bias: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            dense = block(dense, bias, ~valid[:, None, :])
        return dense
