"""Graph views: what graph information a core receives, an explicit and recorded axis.

- `undirected`: the real edges, both ways, as one relation;
- `directed`: forward and backward real edges as two relations;
- `virtual`: `directed` plus shortest-path edges of 2..max_hops hops, each carrying its distance;
- `sweep`: GHN-2's sequential forward/backward sweeps over the DAG in topological order (over
  real and, with max_hops >= 2, virtual edges);
- `none`: no edges at all (the graph-free mlp baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepnets1m.graph import GraphBatch

VIEWS = ("undirected", "directed", "virtual", "sweep", "none")
FORWARD, BACKWARD = 0, 1  # relation ids of the directed views; `undirected` has relation 0 only


@dataclass(frozen=True)
class ViewEdges:
    """The edges of a view: src -> dst, the relation of each edge, its hop distance (1 for real edges)."""

    src: torch.Tensor
    dst: torch.Tensor
    relation: torch.Tensor
    distance: torch.Tensor
    num_relations: int

    def of_relation(self, r: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(src, dst, distance) of relation `r`'s edges."""
        keep = self.relation == r
        return self.src[keep], self.dst[keep], self.distance[keep]


def needs_virtual_edges(view: str) -> bool:
    """Whether a batch for `view` must carry shortest-path edges."""
    return view in ("virtual", "sweep")


def check_view(view: str, accepted: tuple[str, ...], core: str) -> None:
    """A clear error when `core` cannot take `view` (never a silent downgrade)."""
    if view not in VIEWS:
        raise ValueError(f"unknown graph view {view!r}; views: {', '.join(VIEWS)}")
    if view not in accepted:
        raise ValueError(f"the {core} core cannot take the {view!r} view; it takes {', '.join(accepted)}")


def view_edges(batch: GraphBatch, view: str) -> ViewEdges:
    """The edges of `view` on `batch` (`undirected`, `directed` or `virtual`), built once per batch."""
    key = f"view_{view}"
    if key in batch.cache:
        return batch.cache[key]
    src, dst = batch.edge_index
    ones = torch.ones_like(src)
    if view == "undirected":
        out = ViewEdges(
            torch.cat([src, dst]),
            torch.cat([dst, src]),
            torch.zeros_like(torch.cat([src, dst])),
            torch.cat([ones, ones]),
            1,
        )
    elif view in ("directed", "virtual"):
        if view == "virtual":
            if batch.max_hops < 2:
                raise ValueError(
                    f"the virtual view needs a batch with virtual edges (max_hops >= 2, got "
                    f"{batch.max_hops}); batch graphs with the GHN's own `ghn.batch(graphs)`"
                )
            vsrc, vdst = batch.virtual_index
            src, dst = torch.cat([src, vsrc]), torch.cat([dst, vdst])
            ones = torch.cat([ones, batch.virtual_dist.to(ones.dtype)])
        fwd, bwd = torch.full_like(src, FORWARD), torch.full_like(src, BACKWARD)
        out = ViewEdges(torch.cat([src, dst]), torch.cat([dst, src]), torch.cat([fwd, bwd]), torch.cat([ones, ones]), 2)
    else:
        raise ValueError(f"view {view!r} has no edge list (views with edges: undirected, directed, virtual)")
    batch.cache[key] = out
    return out
