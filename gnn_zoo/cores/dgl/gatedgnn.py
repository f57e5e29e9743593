"""gatedgnn on DGL: GHN-2's gated GNN with dgl.prop_nodes_topo (frontier = level)."""
from __future__ import annotations

import warnings

import dgl
import dgl.function as fn
import torch

from deepnets1m.graph import GraphBatch

from ..gated import GatedGNNBase, gated_edges
from .graphs import batched


def gated_graphs(batch: GraphBatch) -> tuple[dgl.DGLGraph, dgl.DGLGraph]:
    """Real + virtual edges with edata 'inv_dist' (0 for real edges), and the reversed graph."""
    if "dgl_gated" not in batch.cache:
        src, dst, inv_dist = gated_edges(batch)
        g = batched(batch, src, dst, {"inv_dist": inv_dist[:, None]})
        batch.cache["dgl_gated"] = (g, dgl.reverse(g, copy_edata=True))
    return batch.cache["dgl_gated"]


class GatedGNN(GatedGNNBase):
    """GHN-2's gated GNN (see GatedGNNBase) on DGL."""

    backend = "dgl"

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        def message(edges):
            inv_dist, h = edges.data["inv_dist"], edges.src["h"]
            if self.mlp_sp is None:
                return {"m": self.mlp(h)}
            return {"m": torch.where(inv_dist == 0, self.mlp(h), self.mlp_sp(h) * inv_dist)}

        def update(nodes):
            return {"h": self.gru_step(nodes.data["agg"], nodes.data["h"])}

        self.check_batch(batch)
        for _ in range(self.layers):
            for g in gated_graphs(batch):
                g = g.local_var()
                g.ndata["h"] = x
                with warnings.catch_warnings():  # the first frontier (sources) has no in-edges, by design
                    warnings.filterwarnings("ignore", message="The input graph for the user-defined edge function")
                    dgl.prop_nodes_topo(g, message, fn.sum("m", "agg"), apply_node_func=update)
                x = g.ndata["h"]
        return x
