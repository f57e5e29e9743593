"""What the graph-transformer cores of both backends share: GHN-3's structural encodings and
attention bias (reference ghn3.md section 6.1), and the layer stack around them.

The encodings are plain torch modules: GHN-3's are not DGL's DegreeEncoder/SpatialEncoder (no
padding index; a forward and a backward distance channel through a sinusoidal embedding and an
MLP), and PyG has none."""

from __future__ import annotations

import math

import torch
from torch import nn

from deepnets1m.graph import GraphBatch
from deepnets1m.node_types import NODE_TYPE_ID

from ..base import Core, head_width
from ..views import FORWARD, view_edges

MAX_DEGREE = 100  # degrees are clipped here (GHN-3)
MAX_INPUT_DISTANCE = 1000  # distances from the input node are clipped here (GHN-3)
DISTANCE_VOCABULARY = 257  # GHN-3's edge embedding: distance + 2, up to 254


def sinusoidal(rows: int, dim: int) -> torch.Tensor:
    """[rows, dim] sinusoidal encodings of 0..rows-1 (sin on even, cos on odd features)."""
    position = torch.arange(rows, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    out = torch.zeros(rows, dim)
    out[:, 0::2] = torch.sin(position * freq)
    out[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return out


def heads_for(hidden: int) -> int:
    """GHN-3's rule: 8 heads up to hidden 64, 16 beyond."""
    return 8 if hidden <= 64 else 16


def input_nodes(batch: GraphBatch) -> torch.Tensor:
    """[B] local index of each graph's input node: its first node of type `input` (node 0 in
    DeepNets-1M graphs, as GHN-3 takes it), found by type so that relabelling nodes changes nothing."""
    is_input = batch.node_types == NODE_TYPE_ID["input"]
    local = torch.arange(batch.num_nodes, device=is_input.device) - batch.ptr[batch.batch]
    first = torch.full((batch.num_graphs,), batch.num_nodes, dtype=torch.long, device=is_input.device)
    first = first.scatter_reduce(0, batch.batch[is_input], local[is_input], reduce="amin")
    return torch.where(first == batch.num_nodes, 0, first)  # no input node: node 0


def dense_distances(batch: GraphBatch, view: str) -> tuple[torch.Tensor, torch.Tensor]:
    """([B, Nmax, Nmax] forward distance of each pair in the view, 0 where none; [B, Nmax] valid
    nodes): the view's relation-0 edges with their hop distance (symmetric for `undirected`)."""
    key = f"dense_distances_{view}"
    if key not in batch.cache:
        edges = view_edges(batch, view)
        src, dst, dist = edges.of_relation(FORWARD)
        sizes = batch.ptr.diff()
        n = int(sizes.max())
        graph = batch.batch[src]
        local_src, local_dst = src - batch.ptr[graph], dst - batch.ptr[graph]
        out = torch.zeros(batch.num_graphs, n, n, dtype=torch.long, device=src.device)
        out[graph, local_src, local_dst] = dist
        valid = torch.arange(n, device=src.device)[None] < sizes[:, None].to(src.device)
        batch.cache[key] = (out, valid)
    return batch.cache[key]


class GraphTransformerBase(Core):
    """GHN-3's Graphormer core: x + in/out-degree embeddings (real edges, clipped at 100) +
    an embedding of the distance from the input node (clipped at 1000, 0 = unreachable), then
    `layers` pre-LN blocks (LN -> multi-head attention without qkv biases -> residual, LN ->
    FFN `ffn_mult`x (GHN-3: 4) with GELU -> residual). Attention within each graph is biased per head by
    MLP([E(D + 2) | E(D^T + 2)]): D the view's forward distances, E a sinusoidally initialised
    embedding; the bias is computed once and reused by every layer. 8 heads up to hidden 64, 16
    beyond. Backends provide `make_block` and `attend` (the blocks over padded graphs)."""

    name = "transformer"
    views = ("virtual", "directed", "undirected")

    def __init__(
        self, hidden: int, layers: int = 3, view: str = "virtual", heads: int | None = None, ffn_mult: int = 4
    ) -> None:
        super().__init__(hidden, layers, view)
        self.heads = heads or heads_for(hidden)
        head_width(hidden, self.heads, self.name)
        self.centrality_in = nn.Embedding(MAX_DEGREE + 1, hidden)
        self.centrality_out = nn.Embedding(MAX_DEGREE + 1, hidden)
        self.input_distance = nn.Embedding(MAX_INPUT_DISTANCE + 1, hidden)
        self.edge_embed = nn.Embedding.from_pretrained(sinusoidal(DISTANCE_VOCABULARY, hidden), freeze=False)
        self.edge_mlp = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, self.heads))
        for table in (self.centrality_in, self.centrality_out, self.input_distance):
            nn.init.trunc_normal_(table.weight, std=hidden**-0.5)
        self.blocks = nn.ModuleList(self.make_block(hidden, ffn_mult * hidden, self.heads) for _ in range(layers))

    def make_block(self, dim: int, ffn_dim: int, heads: int) -> nn.Module:
        """One pre-LN transformer block (qkv without bias, GELU FFN)."""
        raise NotImplementedError

    def attend(self, dense: torch.Tensor, bias: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The blocks over [B, Nmax, hidden] padded graphs with [B, Nmax, Nmax, heads] bias."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        dist, valid = dense_distances(batch, self.view)
        real = (dist == 1).sum
        degree_in, degree_out = real(1)[valid], real(2)[valid]  # per node, in the batch's node order
        from_input = dist[torch.arange(len(dist)), input_nodes(batch)][valid]  # distance from each graph's input
        x = (
            x
            + self.centrality_in(degree_in.clamp(max=MAX_DEGREE))
            + self.centrality_out(degree_out.clamp(max=MAX_DEGREE))
            + self.input_distance(from_input.clamp(max=MAX_INPUT_DISTANCE))
        )
        edge = lambda d: self.edge_embed((d + 2).clamp(max=DISTANCE_VOCABULARY - 1))  # noqa: E731
        bias = self.edge_mlp(torch.cat([edge(dist), edge(dist.transpose(1, 2))], dim=-1))
        dense = x.new_zeros(*valid.shape, x.shape[1])
        dense[valid] = x
        return self.attend(dense, bias, valid)[valid]
