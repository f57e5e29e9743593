"""gatedgnn on DGL: GHN-2's gated GNN, level by level, each level's messages one product of
DGL's sparse matrix of that level's edges (dgl.sparse) with the message-table rows it reads."""

from __future__ import annotations

import dgl.sparse as dglsp
import torch

from deepnets1m.graph import GraphBatch

from ..gated import GatedGNNBase, Sweep, gated_sweeps


class SparseLevels:
    """A sweep's level messages as the product of a DGL sparse matrix [level nodes, rows read] of the
    level's edge weights with the rows it reads, and its transpose's product for their gradient
    (built once per batch)."""

    def __init__(self, sweep: Sweep) -> None:
        self.sources = [src for _, src, _ in sweep.levels]
        self.matrices = []
        for _, _, matrix in sweep.levels:
            node, row = matrix.nonzero(as_tuple=True)
            self.matrices.append(dglsp.spmatrix(torch.stack([node, row]), matrix[node, row], shape=tuple(matrix.shape)))

    def gather(self, level: int, rows: torch.Tensor) -> torch.Tensor:
        """Messages [level nodes, hidden] from the message table `rows`."""
        return self.matrix(level, rows.dtype) @ rows.index_select(0, self.sources[level])

    def spread(self, level: int, grad: torch.Tensor) -> torch.Tensor:
        """The messages' gradient as the gradient of the rows the level read."""
        return self.matrix(level, grad.dtype).T @ grad

    def matrix(self, level: int, dtype: torch.dtype) -> dglsp.SparseMatrix:
        """The level's matrix with values of `dtype` (float32 as built; float64 for exact checks)."""
        a = self.matrices[level]
        return a if a.val.dtype == dtype else dglsp.val_like(a, a.val.to(dtype))


class GatedGNN(GatedGNNBase):
    """GHN-2's gated GNN (see GatedGNNBase) on DGL, a level's messages summed by SparseLevels;
    dgl.prop_nodes_topo, which runs the same sweep with a graph frontier per level, costs ~0.7 ms
    a level on the CPU, a sparse product ~0.05 ms (docs/gnn_zoo.md)."""

    backend = "dgl"

    def sweep_messages(self, batch: GraphBatch, tables: int) -> list[tuple[Sweep, SparseLevels]]:
        key = f"dgl_gated_levels{tables}"
        if key not in batch.cache:
            batch.cache[key] = [(sweep, SparseLevels(sweep)) for sweep in gated_sweeps(batch, tables)]
        return batch.cache[key]
