"""gatedgnn on DGL: GHN-2's gated GNN, level by level, each level's messages one product of
DGL's sparse matrix of that level's edges (dgl.sparse) with the message-table rows it reads."""
from __future__ import annotations

import dgl.sparse as dglsp
import torch

from deepnets1m.graph import GraphBatch

from ..gated import Aggregate, GatedGNNBase, Sweep, gated_sweeps


def level_matrices(sweep: Sweep) -> list[dglsp.SparseMatrix]:
    """Per level, its edge weights as a DGL sparse matrix [level nodes, rows read]."""
    out = []
    for _, _, matrix in sweep.levels:
        node, row = matrix.nonzero(as_tuple=True)
        out.append(dglsp.spmatrix(torch.stack([node, row]), matrix[node, row], shape=tuple(matrix.shape)))
    return out


class GatedGNN(GatedGNNBase):
    """GHN-2's gated GNN (see GatedGNNBase) on DGL. The level matrices are built once per batch;
    dgl.prop_nodes_topo, which runs the same sweep with a graph frontier per level, costs ~0.7 ms
    a level on the CPU, a sparse product ~0.05 ms (docs/gnn_zoo.md)."""

    backend = "dgl"

    def sweep_messages(self, batch: GraphBatch, tables: int) -> list[tuple[Sweep, Aggregate]]:
        key = f"dgl_gated_levels{tables}"
        if key not in batch.cache:
            batch.cache[key] = [(sweep, level_matrices(sweep)) for sweep in gated_sweeps(batch, tables)]

        def sparse(sweep: Sweep, matrices: list[dglsp.SparseMatrix]) -> Aggregate:
            def aggregate(i, rows):
                x, a = rows.index_select(0, sweep.levels[i][1]), matrices[i]
                if x.dtype not in (torch.float32, torch.float64):  # DGL's sparse CPU kernels take no 16-bit
                    # floats; float32 on every device keeps one rule (only autocast makes them)
                    x = x.float()
                if a.val.dtype != x.dtype:
                    a = dglsp.val_like(a, a.val.to(x.dtype))
                return (a @ x).to(rows.dtype)
            return aggregate

        return [(sweep, sparse(sweep, matrices)) for sweep, matrices in batch.cache[key]]
