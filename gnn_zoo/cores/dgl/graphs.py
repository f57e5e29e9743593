"""GraphBatch -> batched DGL graphs, built once per batch and kept in batch.cache."""

from __future__ import annotations

import dgl
import torch

from deepnets1m.graph import GraphBatch


def batched(
    batch: GraphBatch, src: torch.Tensor, dst: torch.Tensor, edata: dict[str, torch.Tensor] | None = None
) -> dgl.DGLGraph:
    """One DGL graph over the batch's nodes with these edges (and per-edge data), grouped by graph
    and carrying per-graph node/edge counts, as dgl.batch would build it."""
    order = torch.argsort(batch.batch[src], stable=True)
    g = dgl.graph((src[order], dst[order]), num_nodes=batch.num_nodes)
    g.set_batch_num_nodes(batch.ptr.diff())
    g.set_batch_num_edges(torch.bincount(batch.batch[src], minlength=batch.num_graphs))
    for key, value in (edata or {}).items():
        g.edata[key] = value[order]
    return g


def directed_graph(batch: GraphBatch) -> dgl.DGLGraph:
    """The real edges, as they are."""
    if "dgl_directed" not in batch.cache:
        batch.cache["dgl_directed"] = batched(batch, *batch.edge_index)
    return batch.cache["dgl_directed"]


def undirected_graph(batch: GraphBatch, self_loops: bool = False) -> dgl.DGLGraph:
    """The real edges in both directions, plus a self-loop per node if asked (as PyG's
    GCNConv/GATConv add them)."""
    key = f"dgl_undirected_{self_loops}"
    if key not in batch.cache:
        src, dst = batch.edge_index
        n = torch.arange(batch.num_nodes, device=src.device) if self_loops else src.new_zeros(0)
        batch.cache[key] = batched(batch, torch.cat([src, dst, n]), torch.cat([dst, src, n]))
    return batch.cache[key]
