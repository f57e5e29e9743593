"""The shared message-passing stack on PyG: one edge_index per relation of the view."""

from __future__ import annotations

import torch

from deepnets1m.graph import GraphBatch

from ...stack import RelationalStack


class PyGStack(RelationalStack):
    """RelationalStack whose relation graphs are PyG edge_index tensors."""

    backend = "pyg"

    def relation_graphs(self, batch: GraphBatch) -> list[tuple[torch.Tensor, torch.Tensor]]:
        key = f"pyg_relations_{self.view}_{self.self_loops}"
        if key not in batch.cache:
            batch.cache[key] = [(torch.stack([src, dst]), dist) for src, dst, dist in self.relation_edges(batch)]
        return batch.cache[key]
