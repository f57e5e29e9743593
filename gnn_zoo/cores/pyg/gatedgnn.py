"""gatedgnn on PyG: GHN-2's gated GNN, level by level over precomputed per-level edge lists."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from deepnets1m.graph import GraphBatch

from ..gated import GatedGNNBase, gated_edges

Sweep = list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]


def reverse_levels(edge_index: torch.Tensor, num_nodes: int) -> np.ndarray:
    """Longest path from each node to a sink (the levels of the reversed DAG)."""
    level = [0] * num_nodes
    src, dst = edge_index.tolist()
    for s, d in sorted(zip(src, dst), reverse=True):  # successors (higher ids) are final first
        if level[d] + 1 > level[s]:
            level[s] = level[d] + 1
    return np.array(level)


def sweep_plan(levels: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> Sweep:
    """Per level, in order: (nodes, edge sources, edge targets as positions in `nodes`, edge weights)."""
    edge_order = np.argsort(levels[dst], kind="stable")
    edge_ptr = np.concatenate([[0], np.cumsum(np.bincount(levels[dst], minlength=levels.max() + 1))])
    node_order = np.argsort(levels, kind="stable")
    node_ptr = np.concatenate([[0], np.cumsum(np.bincount(levels))])
    position = np.empty_like(levels)
    position[node_order] = np.arange(len(levels)) - node_ptr[levels[node_order]]
    src, target, weight = src[edge_order], position[dst[edge_order]], weight[edge_order, None]
    t = torch.from_numpy
    return [
        (t(node_order[n0:n1]), t(src[e0:e1]), t(target[e0:e1]), t(weight[e0:e1]))
        for n0, n1, e0, e1 in zip(node_ptr[:-1], node_ptr[1:], edge_ptr[:-1], edge_ptr[1:])
    ]


def gated_plan(batch: GraphBatch, tables: int) -> tuple[Sweep, Sweep]:
    """Forward and backward sweeps over real + virtual edges, built once per batch. Sources index
    the message table viewed as [tN, hidden] with t `tables` (2 when the core has MLP_sp, else 1):
    row tu holds MLP(h_u), row 2u+1 MLP_sp(h_u), so a real edge gathers row tu and a virtual one
    row 2u+1 with weight 1/hops."""
    key = f"pyg_gated{tables}"
    if key not in batch.cache:
        src, dst, inv_dist = (t.numpy() for t in gated_edges(batch))
        is_virtual = (inv_dist > 0).astype(np.int64)
        weight = np.where(is_virtual, inv_dist, 1.0).astype(np.float32)
        batch.cache[key] = (
            sweep_plan(batch.level.numpy(), tables * src + is_virtual, dst, weight),
            sweep_plan(reverse_levels(batch.edge_index, batch.num_nodes), tables * dst + is_virtual, src, weight),
        )
    return batch.cache[key]


class GatedGNN(GatedGNNBase):
    """GHN-2's gated GNN (see GatedGNNBase) on PyG.

    Messages depend only on the sender, so MLP(h_u) and MLP_sp(h_u) are computed once per node
    when it is updated (both MLPs fused into one block-diagonal pair of matmuls) and kept in a
    message table that later levels gather from; updates are written in place (autograd-safe:
    gathers keep only indices). PyG has no DAG-sweep operator; per level the sum of messages is
    torch's index_add_, half the cost of PyG's scatter on these tiny levels."""

    backend = "pyg"

    def fused_mlps(self):
        """Weights computing [MLP(h) | MLP_sp(h)] as Linear -> ReLU -> Linear -> ReLU, shape [., 2 hidden]
        (MLP(h) alone without virtual edges)."""
        a, b = self.mlp, self.mlp_sp
        if b is None:
            return a
        w1, b1 = torch.cat([a[0].weight, b[0].weight]), torch.cat([a[0].bias, b[0].bias])
        w2, b2 = torch.block_diag(a[2].weight, b[2].weight), torch.cat([a[2].bias, b[2].bias])
        return lambda h: F.relu(F.linear(F.relu(F.linear(h, w1, b1)), w2, b2))

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        self.check_batch(batch)
        n, hidden = x.shape
        tables = 2 if self.virtual_edges else 1
        mlps, h = self.fused_mlps(), x.clone()
        for _ in range(self.layers):
            for sweep in gated_plan(batch, tables):
                # [N, t hidden], read as [tN, hidden]; h and the table are updated in place (the table
                # as a copy: ReLU's backward needs its own output unchanged)
                table = mlps(h.clone()).clone()
                rows = table.view(tables * n, hidden)
                for nodes, src, target, weight in sweep:
                    msg = x.new_zeros(len(nodes), hidden).index_add_(0, target, rows[src] * weight)
                    new = self.gru(msg, h[nodes])
                    h.index_copy_(0, nodes, new)
                    table.index_copy_(0, nodes, mlps(new))
        return h
