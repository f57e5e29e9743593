"""The shared message-passing stack on DGL: one batched DGL graph per relation of the view."""

from __future__ import annotations

import dgl
import torch

from deepnets1m.graph import GraphBatch

from ...stack import RelationalStack
from .graphs import batched


class DGLStack(RelationalStack):
    """RelationalStack whose relation graphs are batched DGL graphs (edges grouped by graph)."""

    backend = "dgl"

    def relation_graphs(self, batch: GraphBatch) -> list[tuple[dgl.DGLGraph, torch.Tensor]]:
        key = f"dgl_relations_{self.view}_{self.self_loops}"
        if key not in batch.cache:
            graphs = [batched(batch, src, dst, {"dist": dist}) for src, dst, dist in self.relation_edges(batch)]
            batch.cache[key] = [(g, g.edata["dist"]) for g in graphs]
        return batch.cache[key]
