"""What the GatedGNN (GHN-2) cores of both backends share: weights, and the message function."""
from __future__ import annotations

import torch
from torch import nn

from deepnets1m.graph import GraphBatch

from ..base import Core, residual_mlp


def check_dag(batch: GraphBatch) -> None:
    """gatedgnn sweeps in topological order: every edge must go from a lower to a higher node id
    (as deepnets1m numbers nodes); anything else is a clear error, not a silent wrong answer."""
    if batch.edge_index.numel() and not bool((batch.edge_index[0] < batch.edge_index[1]).all()):
        raise ValueError("gatedgnn needs a DAG with nodes in topological order (every edge from a lower to a "
                         "higher id), as deepnets1m.to_graph builds it; this graph has a backward edge or a cycle. "
                         "Use an order-free core (gcn, gat, gin, transformer, mlp) for it.")


def gated_edges(batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Real then virtual edges: (src, dst, inv_dist) with inv_dist 0 for real edges, 1/hops for
    virtual ones; checks the DAG order first."""
    check_dag(batch)
    src = torch.cat([batch.edge_index[0], batch.virtual_index[0]])
    dst = torch.cat([batch.edge_index[1], batch.virtual_index[1]])
    inv_dist = torch.cat([torch.zeros(batch.edge_index.shape[1], device=batch.virtual_dist.device), 1.0 / batch.virtual_dist.float()])
    return src, dst, inv_dist


class GatedGNNBase(Core):
    """GHN-2's gated GNN: per round, a forward sweep over the DAG in topological order, then a
    backward sweep on the reversed DAG. A node's message sums MLP(h_u) over its real
    predecessors u and MLP_sp(h_u) / s_uv over its virtual ones (s_uv = hop distance, 2..s);
    the node then updates h_v <- GRU(message, h_v). Nodes of one level are updated together.
    The MLPs and the GRU are shared by both sweeps and all rounds."""

    name = "gatedgnn"
    uses_virtual_edges = True

    def __init__(self, hidden: int, layers: int = 1) -> None:
        super().__init__(hidden, layers)
        self.mlp = residual_mlp(hidden)
        self.mlp_sp = residual_mlp(hidden)
        self.gru = nn.GRUCell(hidden, hidden)
