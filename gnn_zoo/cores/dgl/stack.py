"""The shared message-passing stack on DGL: one batched DGL graph per relation of the view."""
from __future__ import annotations

import dgl
import torch

from deepnets1m.graph import GraphBatch

from ...stack import RelationalStack
from ...views import view_edges
from .graphs import batched


class DGLStack(RelationalStack):
    """RelationalStack whose relation graphs are batched DGL graphs."""

    backend = "dgl"

    def relation_graphs(self, batch: GraphBatch) -> list[tuple[dgl.DGLGraph, torch.Tensor]]:
        key = f"dgl_relations_{self.view}_{self.self_loops}"
        if key not in batch.cache:
            edges, out = view_edges(batch, self.view), []
            loops = torch.arange(batch.num_nodes, device=batch.edge_index.device)
            for r in range(edges.num_relations):
                src, dst, dist = edges.of_relation(r)
                if self.self_loops:
                    src, dst, dist = torch.cat([src, loops]), torch.cat([dst, loops]), torch.cat([dist, 0 * loops])
                g = batched(batch, src, dst, {"dist": dist})
                out.append((g, g.edata["dist"]))
            batch.cache[key] = out
        return batch.cache[key]
