"""transformer on PyG: a Graphormer-style graph transformer (GHN-3): degree encodings and a
learned attention bias per shortest-path distance. PyG has no such layer; the modules below
mirror DGL's GraphormerLayer, DegreeEncoder and SpatialEncoder name for name, so weights move
between backends unchanged. Attention itself is torch's scaled_dot_product_attention."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from torch import nn
from torch_geometric.utils import degree, to_dense_batch

from deepnets1m.graph import GraphBatch

from ..transformer import GraphTransformerBase


class DegreeEncoder(nn.Module):
    """Sum of an in-degree and an out-degree embedding (degrees clamped to max_degree, 0 -> zeros)."""

    def __init__(self, max_degree: int, dim: int) -> None:
        super().__init__()
        self.max_degree = max_degree
        self.encoder1 = nn.Embedding(max_degree + 1, dim, padding_idx=0)
        self.encoder2 = nn.Embedding(max_degree + 1, dim, padding_idx=0)

    def forward(self, degrees: torch.Tensor) -> torch.Tensor:
        degrees = degrees.clamp(0, self.max_degree)
        return self.encoder1(degrees[0]) + self.encoder2(degrees[1])


class SpatialEncoder(nn.Module):
    """Per-head attention bias of each shortest-path distance (-1: unreachable or padding)."""

    def __init__(self, max_dist: int, num_heads: int) -> None:
        super().__init__()
        self.max_dist = max_dist
        self.embedding_table = nn.Embedding(max_dist + 2, num_heads, padding_idx=0)

    def forward(self, dist: torch.Tensor) -> torch.Tensor:
        return self.embedding_table(dist.clamp(-1, self.max_dist) + 1)


class BiasedMHA(nn.Module):
    """Multi-head attention with an additive per-head bias and a key mask."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, dim = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.num_heads, dim // self.num_heads).transpose(1, 2)

        attn_mask = bias.permute(0, 3, 1, 2).masked_fill(mask[:, None], float("-inf"))
        out = F.scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x)),
                                             attn_mask=attn_mask)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, dim))


class GraphormerLayer(nn.Module):
    """Pre-LayerNorm transformer block: x + MHA(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, dim: int, ffn_dim: int, num_heads: int) -> None:
        super().__init__()
        self.attn = BiasedMHA(dim, num_heads)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.ReLU(), nn.Dropout(0.0), nn.Linear(ffn_dim, dim),
                                 nn.Dropout(0.0))
        self.attn_layer_norm = nn.LayerNorm(dim)
        self.ffn_layer_norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_layer_norm(x), bias, mask)
        return x + self.ffn(self.ffn_layer_norm(x))


def hop_distances(batch: GraphBatch) -> torch.Tensor:
    """[B, Nmax, Nmax] undirected hop distances within each graph, -1 if unreachable or padding."""
    if "pyg_hops" not in batch.cache:
        sizes = batch.ptr.diff().tolist()
        out = torch.full((batch.num_graphs, max(sizes), max(sizes)), -1, dtype=torch.long)
        for i, g in enumerate(batch.graphs):
            src, dst = g.edge_index.numpy()
            adj = csr_matrix((np.ones(len(src)), (src, dst)), shape=(g.num_nodes, g.num_nodes))
            hops = shortest_path(adj, directed=False, unweighted=True)
            hops[np.isinf(hops)] = -1
            out[i, : g.num_nodes, : g.num_nodes] = torch.from_numpy(hops.astype(np.int64))
        batch.cache["pyg_hops"] = out.to(batch.edge_index.device)
    return batch.cache["pyg_hops"]


class GraphTransformer(GraphTransformerBase):
    """The graph transformer (see GraphTransformerBase) on PyG."""

    backend = "pyg"
    degree_encoder_cls, spatial_encoder_cls = DegreeEncoder, SpatialEncoder

    def make_block(self, dim: int, ffn_dim: int, heads: int) -> nn.Module:
        return GraphormerLayer(dim, ffn_dim, heads)

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        src, dst = batch.edge_index
        degrees = torch.stack([degree(dst, batch.num_nodes), degree(src, batch.num_nodes)]).long()
        x = x + self.degree_encoder(degrees)
        dense, valid = to_dense_batch(x, batch.batch)
        bias = self.spatial_encoder(hop_distances(batch))
        for block in self.blocks:
            dense = block(dense, bias, ~valid[:, None, :])
        return dense[valid]
