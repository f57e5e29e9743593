"""The shared message-passing stack on PyG: one edge_index per relation of the view."""
from __future__ import annotations

import torch

from deepnets1m.graph import GraphBatch

from ...stack import RelationalStack
from ...views import view_edges


class PyGStack(RelationalStack):
    """RelationalStack whose relation graphs are PyG edge_index tensors."""

    backend = "pyg"

    def relation_graphs(self, batch: GraphBatch) -> list[tuple[torch.Tensor, torch.Tensor]]:
        key = f"pyg_relations_{self.view}_{self.self_loops}"
        if key not in batch.cache:
            edges, out = view_edges(batch, self.view), []
            loops = torch.arange(batch.num_nodes, device=batch.edge_index.device)
            for r in range(edges.num_relations):
                src, dst, dist = edges.of_relation(r)
                if self.self_loops:
                    src, dst, dist = torch.cat([src, loops]), torch.cat([dst, loops]), torch.cat([dist, 0 * loops])
                out.append((torch.stack([src, dst]), dist))
            batch.cache[key] = out
        return batch.cache[key]
