"""gatedgnn on PyG: GHN-2's gated GNN, level by level over precomputed per-level edge-weight matrices."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from deepnets1m.graph import GraphBatch

from ..gated import GatedGNNBase, gated_edges

@dataclass
class Sweep:
    """One sweep's plan: the nodes in level order, the level sizes, where each node sits in that
    order, and per level (its nodes, the message-table rows its edges read, a dense [nodes, rows]
    matrix of edge weights summing them into messages)."""

    order: torch.Tensor
    sizes: list[int]
    position: torch.Tensor
    levels: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def reverse_levels(edge_index: torch.Tensor, num_nodes: int) -> np.ndarray:
    """Longest path from each node to a sink (the levels of the reversed DAG)."""
    level = [0] * num_nodes
    src, dst = edge_index.tolist()
    for s, d in sorted(zip(src, dst), reverse=True):  # successors (higher ids) are final first
        if level[d] + 1 > level[s]:
            level[s] = level[d] + 1
    return np.array(level)


def sweep_plan(levels: np.ndarray, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> Sweep:
    """The Sweep of a DAG whose node levels are `levels`, over edges src -> dst with `weight`
    (src indexes message-table rows, dst nodes); vectorised but for one slice per level."""
    order = np.argsort(levels, kind="stable")
    sizes = np.bincount(levels)
    node_ptr = np.concatenate([[0], np.cumsum(sizes)])
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    edge_level = levels[dst]
    # each level's distinct sources, in (level, source) order
    width = src.max(initial=0) + 1
    keys, column = np.unique(edge_level * width + src, return_inverse=True)
    reads = np.bincount(keys // width, minlength=len(sizes))
    read_ptr = np.concatenate([[0], np.cumsum(reads)])
    rows = keys % width
    # the levels' [nodes, reads] matrices, stored back to back in one flat array
    cell_ptr = np.concatenate([[0], np.cumsum(sizes * reads)])
    flat = np.zeros(cell_ptr[-1], dtype=np.float32)
    row_in_level = position[dst] - node_ptr[edge_level]
    np.add.at(flat, cell_ptr[edge_level] + row_in_level * reads[edge_level] + column - read_ptr[edge_level], weight)
    t = torch.from_numpy
    plan = [(t(order[n0:n1]), t(rows[r0:r1]), t(flat[c0:c1]).view(n1 - n0, r1 - r0))
            for n0, n1, r0, r1, c0, c1 in zip(node_ptr[:-1], node_ptr[1:], read_ptr[:-1], read_ptr[1:],
                                              cell_ptr[:-1], cell_ptr[1:])]
    return Sweep(t(order), sizes.tolist(), t(position), plan)


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
    when it is updated (both MLPs fused into one block-diagonal pair of matmuls) and written to a
    message table that later levels read (in place, autograd-safe: the reads keep only indices).
    A level's messages are one matmul of its edge-weight matrix with the rows it reads (PyG has
    no DAG-sweep operator; this is half the ops of a gather, scale and scatter). A node is
    updated once per sweep, from its state before the sweep: those states and their GRU hidden
    matmul are taken for all nodes at once, and the new states are gathered back at the end, so
    a level costs a gather, two matmuls, the fused GRU gates (GRUGates) and the MLPs."""

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
        tables = 2 if self.virtual_edges else 1
        mlps, h = self.fused_mlps(), x
        for _ in range(self.layers):
            for sweep in gated_plan(batch, tables):
                h = self.sweep(h, sweep, mlps, tables)
        return h

    def sweep(self, h: torch.Tensor, sweep: Sweep, mlps, tables: int) -> torch.Tensor:
        """The node states after one sweep from states `h`."""
        n, hidden = h.shape
        gh = F.linear(h, self.gru.weight_hh, self.gru.bias_hh)
        old = h.index_select(0, sweep.order).split(sweep.sizes)
        old_gh = gh.index_select(0, sweep.order).split(sweep.sizes)
        table = rows = None  # [N, t hidden], read as [tN, hidden]; a row is read only once written (the
        # first write makes it, in the MLPs' dtype: lower precision under autocast)
        new = []
        for i, ((nodes, src, matrix), h_level, gh_level) in enumerate(zip(sweep.levels, old, old_gh)):
            if rows is None:  # no earlier level: the sources' messages are all zero
                msg = h.new_zeros(len(nodes), hidden)
            else:
                msg = matrix.to(rows.dtype) @ rows.index_select(0, src)
            new.append(self.gru_step(msg, h_level, gh_level))
            if i + 1 < len(sweep.levels):  # the last level's messages have no reader
                value = mlps(new[-1])
                if table is None:
                    table = value.new_zeros(n, tables * hidden)
                    rows = table.view(tables * n, hidden)
                table.index_copy_(0, nodes, value)
        return torch.cat(new).index_select(0, sweep.position)
