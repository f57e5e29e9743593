"""What the GatedGNN (GHN-2) cores of both backends share: weights, and the message function."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepnets1m.graph import GraphBatch

from ..base import Core, two_layer_mlp


def check_dag(batch: GraphBatch) -> None:
    """gatedgnn sweeps in topological order: every edge must go from a lower to a higher node id
    (as deepnets1m numbers nodes); anything else is a clear error, not a silent wrong answer."""
    if batch.edge_index.numel() and not bool((batch.edge_index[0] < batch.edge_index[1]).all()):
        raise ValueError("gatedgnn needs a DAG with nodes in topological order (every edge from a lower to a "
                         "higher id), as deepnets1m.to_graph builds it; this graph has a backward edge or a cycle. "
                         "Use an order-free core (gcn, gat, gin, transformer, mlp) for it.")


def gated_edges(batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Real edges, then (with virtual edges, max_hops >= 2) the real edges again and the virtual
    ones as `shortest-path` edges: (src, dst, inv_dist) with inv_dist 0 for real edges and
    1/hops for shortest-path ones, 1-hop neighbours included (GHN-2 sums MLP_sp(h_u)/d over
    1 <= d <= s). Checks the DAG order first."""
    check_dag(batch)
    real = batch.edge_index
    hop1 = real if batch.max_hops >= 2 else real[:, :0]
    src = torch.cat([real[0], hop1[0], batch.virtual_index[0]])
    dst = torch.cat([real[1], hop1[1], batch.virtual_index[1]])
    dev = batch.virtual_dist.device
    inv_dist = torch.cat([torch.zeros(real.shape[1], device=dev), torch.ones(hop1.shape[1], device=dev),
                          1.0 / batch.virtual_dist.float()])
    return src, dst, inv_dist


class GRUGates(torch.autograd.Function):
    """A GRU cell's gate math after its two matmuls, as one autograd node: from gi = W_ih x + b_ih
    and gh = W_hh h + b_hh ([n, 3 hidden] each, gates r, z, n) to (1 - z) n + z h, with
    nn.GRUCell's equations. torch fuses this only on CUDA; on the CPU nn.GRUCell records ~12
    autograd nodes a call, and GHN-2's sweeps call it once per level (~200 times a step)."""

    @staticmethod
    def forward(ctx, gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        i_r, i_z, i_n = gi.chunk(3, 1)
        h_r, h_z, h_n = gh.chunk(3, 1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(torch.addcmul(i_n, r, h_n))
        ctx.save_for_backward(r, z, n, h_n, h)
        return torch.addcmul(n, z, h - n)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        r, z, n, h_n, h = ctx.saved_tensors
        d_n = grad * (1 - z) * (1 - n * n)  # through tanh
        d_r = d_n * h_n * r * (1 - r)  # through sigmoid
        d_z = grad * (h - n) * z * (1 - z)
        return torch.cat([d_r, d_z, d_n], 1), torch.cat([d_r, d_z, d_n * r], 1), grad * z


class GatedGNNBase(Core):
    """GHN-2's gated GNN: per round, a forward sweep over the DAG in topological order, then a
    backward sweep on the reversed DAG. A node's message sums MLP(h_u) over its real
    predecessors u and MLP_sp(h_u) / s_uv over its virtual ones (s_uv = hop distance, 1..s);
    the node then updates h_v <- GRU(message, h_v). Nodes of one level are updated together.
    The MLPs and the GRU are shared by both sweeps and all rounds. As in GHN-2, real
    predecessors also enter the shortest-path sum at distance 1 (see gated_edges).

    The MLPs are hidden -> hidden/2 -> hidden with virtual edges (GHN-2); without them (GHN-1,
    `virtual_edges=False`) there is one MLP, hidden -> hidden -> hidden."""

    name = "gatedgnn"
    views = ("sweep",)

    def __init__(self, hidden: int, layers: int = 1, view: str = "sweep", virtual_edges: bool = True) -> None:
        super().__init__(hidden, layers, view)
        self.virtual_edges = virtual_edges
        self.mlp = two_layer_mlp(hidden, hidden // 2 if virtual_edges else hidden, final_relu=True)
        self.mlp_sp = two_layer_mlp(hidden, hidden // 2, final_relu=True) if virtual_edges else None
        self.gru = nn.GRUCell(hidden, hidden)

    def gru_step(self, msg: torch.Tensor, h: torch.Tensor, gh: torch.Tensor | None = None) -> torch.Tensor:
        """self.gru(msg, h) with its gates fused (GRUGates) and computed in h's dtype (under autocast
        the matmuls run in lower precision); `gh`: W_hh h + b_hh when already computed."""
        gru = self.gru
        if gh is None:
            gh = F.linear(h, gru.weight_hh, gru.bias_hh)
        return GRUGates.apply(F.linear(msg, gru.weight_ih, gru.bias_ih).to(h.dtype), gh.to(h.dtype), h)

    def check_batch(self, batch: GraphBatch) -> None:
        """A clear error when the batch has virtual edges this core has no MLP for."""
        if not self.virtual_edges and batch.max_hops >= 2:
            raise ValueError(f"this gatedgnn core was built without virtual edges (GHN-1) but the graph batch has "
                             f"max_hops={batch.max_hops}; batch graphs with the GHN's own `ghn.batch(graphs)`")
