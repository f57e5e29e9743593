"""GraphBatch -> the index tensors PyG layers take, built once per batch and kept in batch.cache."""

from __future__ import annotations

import torch
from torch_geometric.utils import to_undirected

from deepnets1m.graph import GraphBatch


def undirected_edges(batch: GraphBatch) -> torch.Tensor:
    """Real edges in both directions ([2, 2E]), for message passing that ignores direction."""
    if "pyg_undirected" not in batch.cache:
        batch.cache["pyg_undirected"] = to_undirected(batch.edge_index, num_nodes=batch.num_nodes)
    return batch.cache["pyg_undirected"]
