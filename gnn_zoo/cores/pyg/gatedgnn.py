"""gatedgnn on PyG: GHN-2's gated GNN, level by level over precomputed per-level edge-weight matrices."""
from __future__ import annotations

from deepnets1m.graph import GraphBatch

from ..gated import Aggregate, GatedGNNBase, Sweep, gated_sweeps


class GatedGNN(GatedGNNBase):
    """GHN-2's gated GNN (see GatedGNNBase) on PyG. A level's messages are one matmul of its dense
    [level nodes x rows read] edge-weight matrix with the rows it reads (PyG has no DAG-sweep
    operator; this is half the ops of a gather, scale and scatter)."""

    backend = "pyg"

    def sweep_messages(self, batch: GraphBatch, tables: int) -> list[tuple[Sweep, Aggregate]]:
        def dense(sweep: Sweep) -> Aggregate:
            def aggregate(i, rows):
                _, src, matrix = sweep.levels[i]
                return matrix.to(rows.dtype) @ rows.index_select(0, src)
            return aggregate

        return [(sweep, dense(sweep)) for sweep in gated_sweeps(batch, tables)]
