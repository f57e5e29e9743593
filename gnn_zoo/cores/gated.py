"""What the GatedGNN (GHN-2) cores of both backends share: weights, the message function, the sweep
plan and the sweeps themselves (gated_sweep; a backend only sums a level's messages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepnets1m.graph import GraphBatch

from ..base import Core, bias_of, linears, two_layer_mlp
from .gated_sweep import GatedSweep, LevelMessages


def check_dag(batch: GraphBatch) -> None:
    """gatedgnn sweeps in topological order: every edge must go from a lower to a higher node id
    (as deepnets1m numbers nodes); anything else is a clear error, not a silent wrong answer."""
    if batch.edge_index.numel() and not bool((batch.edge_index[0] < batch.edge_index[1]).all()):
        raise ValueError(
            "gatedgnn needs a DAG with nodes in topological order (every edge from a lower to a "
            "higher id), as deepnets1m.to_graph builds it; this graph has a backward edge or a cycle. "
            "Use an order-free core (gcn, gat, gin, transformer, mlp) for it."
        )


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
    inv_dist = torch.cat(
        [
            torch.zeros(real.shape[1], device=dev),
            torch.ones(hop1.shape[1], device=dev),
            1.0 / batch.virtual_dist.float(),
        ]
    )
    return src, dst, inv_dist


@dataclass
class Sweep:
    """One sweep's plan: the nodes in level order, the level sizes, where each node sits in that
    order, and per level (its nodes, the message-table rows its edges read, a dense [nodes, rows]
    matrix of edge weights summing them into messages)."""

    order: torch.Tensor
    sizes: list[int]
    position: torch.Tensor
    levels: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]

    def to(self, device: torch.device) -> Sweep:
        """This plan with its tensors on `device`."""
        if self.order.device == device:
            return self
        return Sweep(
            self.order.to(device),
            self.sizes,
            self.position.to(device),
            [(nodes.to(device), rows.to(device), weights.to(device)) for nodes, rows, weights in self.levels],
        )


def reverse_levels(edge_index: torch.Tensor, num_nodes: int) -> np.ndarray:
    """Longest path from each node to a sink (the levels of the reversed DAG)."""
    level = [0] * num_nodes
    src, dst = edge_index.cpu().tolist()
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
    plan = [
        (t(order[n0:n1]), t(rows[r0:r1]), t(flat[c0:c1]).view(n1 - n0, r1 - r0))
        for n0, n1, r0, r1, c0, c1 in zip(
            node_ptr[:-1], node_ptr[1:], read_ptr[:-1], read_ptr[1:], cell_ptr[:-1], cell_ptr[1:]
        )
    ]
    return Sweep(t(order), sizes.tolist(), t(position), plan)


def gated_sweeps(batch: GraphBatch, tables: int) -> tuple[Sweep, Sweep]:
    """Forward and backward sweeps over real + virtual edges, planned once per batch (on the CPU,
    then moved to the batch's device). Sources index the message table viewed as [tN, hidden]
    with t `tables` (2 when the core has MLP_sp, else 1): row tu holds MLP(h_u), row 2u+1
    MLP_sp(h_u), so a real edge reads row tu and a virtual one row 2u+1 with weight 1/hops."""
    key = f"gated_sweeps{tables}"
    if key not in batch.cache:
        src, dst, inv_dist = (t.cpu().numpy() for t in gated_edges(batch))
        is_virtual = (inv_dist > 0).astype(np.int64)
        weight = np.where(is_virtual, inv_dist, 1.0).astype(np.float32)
        sweeps = (
            sweep_plan(batch.level.cpu().numpy(), tables * src + is_virtual, dst, weight),
            sweep_plan(reverse_levels(batch.edge_index, batch.num_nodes), tables * dst + is_virtual, src, weight),
        )
        batch.cache[key] = tuple(s.to(batch.edge_index.device) for s in sweeps)
    return batch.cache[key]


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

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        self.check_batch(batch)
        tables = 2 if self.virtual_edges else 1
        plans = self.sweep_messages(batch, tables)
        # in float32 under autocast too: a level's matmuls are [level nodes x hidden] (lower precision
        # gains nothing there), and one dtype keeps the hand-written backward one rule
        with torch.autocast(x.device.type, enabled=False):
            h = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
            weights = tuple(w.to(h.dtype) for w in (*self.gru_weights(), *self.message_weights()))
            for _ in range(self.layers):
                for sweep, messages in plans:
                    h = GatedSweep.apply(h, *weights, sweep, messages, tables)
        return h

    def sweep_messages(self, batch: GraphBatch, tables: int) -> Sequence[tuple[Sweep, LevelMessages]]:
        """The backend's part: per sweep (forward, then backward), its plan and how a level's
        messages are summed from the message-table rows it reads (and their gradient spread back)."""
        raise NotImplementedError

    def gru_weights(self) -> tuple[torch.Tensor, ...]:
        """The GRU cell's w_ih, b_ih, w_hh, b_hh."""
        gru = self.gru
        return gru.weight_ih, gru.bias_ih, gru.weight_hh, gru.bias_hh

    def message_weights(self) -> tuple[torch.Tensor, ...]:
        """w1, b1, w2, b2 computing [MLP(h) | MLP_sp(h)] as Linear -> ReLU -> Linear -> ReLU, shape
        [., 2 hidden]: both MLPs fused, the second layer block-diagonal (MLP(h) alone without
        virtual edges). Messages depend only on the sender, so they are computed once per node."""
        (a1, a2), b = linears(self.mlp), self.mlp_sp
        if b is None:
            return a1.weight, bias_of(a1), a2.weight, bias_of(a2)
        b1, b2 = linears(b)
        return (
            torch.cat([a1.weight, b1.weight]),
            torch.cat([bias_of(a1), bias_of(b1)]),
            torch.block_diag(a2.weight, b2.weight),
            torch.cat([bias_of(a2), bias_of(b2)]),
        )

    def check_batch(self, batch: GraphBatch) -> None:
        """A clear error when the batch has virtual edges this core has no MLP for."""
        if not self.virtual_edges and batch.max_hops >= 2:
            raise ValueError(
                f"this gatedgnn core was built without virtual edges (GHN-1) but the graph batch has "
                f"max_hops={batch.max_hops}; batch graphs with the GHN's own `ghn.batch(graphs)`"
            )
