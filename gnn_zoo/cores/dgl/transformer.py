"""transformer on DGL: Graphormer-style graph transformer (GHN-3) from DGL's GraphormerLayer,
DegreeEncoder, SpatialEncoder and shortest_dist."""
from __future__ import annotations

import dgl
import torch
from dgl.nn.pytorch import DegreeEncoder, GraphormerLayer, SpatialEncoder
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from deepnets1m.graph import GraphBatch

from ..transformer import GraphTransformerBase
from .graphs import directed_graph, undirected_graph


def hop_distances(batch: GraphBatch) -> torch.Tensor:
    """[B, Nmax, Nmax] undirected hop distances within each graph, -1 if unreachable or padding."""
    if "dgl_hops" not in batch.cache:
        sizes = batch.ptr.diff().tolist()
        out = torch.full((batch.num_graphs, max(sizes), max(sizes)), -1, dtype=torch.long)
        for i, g in enumerate(dgl.unbatch(undirected_graph(batch))):
            out[i, : g.num_nodes(), : g.num_nodes()] = dgl.shortest_dist(g)
        batch.cache["dgl_hops"] = out.to(batch.edge_index.device)
    return batch.cache["dgl_hops"]


class GraphTransformer(GraphTransformerBase):
    """The graph transformer (see GraphTransformerBase) on DGL."""

    backend = "dgl"
    degree_encoder_cls, spatial_encoder_cls = DegreeEncoder, SpatialEncoder

    def make_block(self, dim: int, ffn_dim: int, heads: int) -> nn.Module:
        return GraphormerLayer(dim, ffn_dim, heads, norm_first=True, dropout=0.0, attn_dropout=0.0)

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        g = directed_graph(batch)
        degrees = torch.stack([g.in_degrees(), g.out_degrees()])[:, None]  # [2, 1, N]: one "graph" of all nodes
        x = x + self.degree_encoder(degrees)[0]
        sizes = batch.ptr.diff().tolist()
        dense = pad_sequence(list(x.split(sizes)), batch_first=True)
        valid = pad_sequence([torch.ones(n, dtype=torch.bool, device=x.device) for n in sizes], batch_first=True)
        bias = self.spatial_encoder(hop_distances(batch))
        for block in self.blocks:
            dense = block(dense, bias, ~valid[:, None, :].expand(-1, dense.shape[1], -1))
        return dense[valid]
