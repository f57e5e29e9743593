"""gatedgnn on PyG: GHN-2's gated GNN, level by level over precomputed per-level edge-weight matrices."""

from __future__ import annotations

import torch

from deepnets1m.graph import GraphBatch

from ..gated import GatedGNNBase, Sweep, gated_sweeps


class DenseLevels:
    """A sweep's level messages as one matmul of the level's dense [level nodes x rows read]
    edge-weight matrix with the rows it reads (PyG has no DAG-sweep operator; this is half the
    ops of a gather, scale and scatter), and the transposed matmul for their gradient."""

    def __init__(self, sweep: Sweep) -> None:
        self.levels = sweep.levels

    def gather(self, level: int, rows: torch.Tensor) -> torch.Tensor:
        """Messages [level nodes, hidden] from the message table `rows`."""
        _, src, matrix = self.levels[level]
        return matrix.to(rows.dtype) @ rows.index_select(0, src)

    def spread(self, level: int, grad: torch.Tensor) -> torch.Tensor:
        """The messages' gradient as the gradient of the rows the level read."""
        return self.levels[level][2].to(grad.dtype).t() @ grad


class GatedGNN(GatedGNNBase):
    """GHN-2's gated GNN (see GatedGNNBase) on PyG, a level's messages summed by DenseLevels."""

    backend = "pyg"

    def sweep_messages(self, batch: GraphBatch, tables: int) -> list[tuple[Sweep, DenseLevels]]:
        return [(sweep, DenseLevels(sweep)) for sweep in gated_sweeps(batch, tables)]
