"""GraphBuilder: the one place where graph semantics live, used by both the torch.fx tracer and
the fast spec compiler, so the two produce identical graphs by construction."""

from __future__ import annotations

import functools
import math

import torch

from .graph import ArchGraph
from .node_types import NODE_TYPE_ID

# A traced value is the set of graph nodes it was computed from: a typed node yields {its id};
# an op outside the vocabulary (ReLU, reshape, x * gate, ...) is transparent and yields the union
# of its inputs' sets; shapes, constants and buffers yield the empty set.
Value = frozenset
NO_VALUE: Value = frozenset()


class GraphBuilder:
    """Appends typed nodes in execution order and assembles an ArchGraph."""

    def __init__(self) -> None:
        self.types: list[int] = []
        self.names: list[str] = []
        self.levels: list[int] = []
        self.src: list[int] = []
        self.dst: list[int] = []
        self.param_names: list[str] = []
        self.param_shapes: list[tuple[int, ...]] = []
        self.param_node: list[int] = []

    def add(
        self, node_type: str, inputs: Value, name: str, params: tuple[tuple[str, tuple[int, ...]], ...] = ()
    ) -> Value:
        """Append a node of `node_type` fed by the nodes in `inputs`; it owns `params`."""
        node = len(self.types)
        self.types.append(NODE_TYPE_ID[node_type])
        self.names.append(name)
        preds = sorted(inputs)
        self.src.extend(preds)
        self.dst.extend([node] * len(preds))
        self.levels.append(max((self.levels[p] for p in preds), default=-1) + 1)
        for pname, shape in params:
            self.param_names.append(pname)
            self.param_shapes.append(tuple(shape))
            self.param_node.append(node)
        return frozenset((node,))

    def combine(self, node_type: str, values: list[Value], name: str) -> Value:
        """A sum/concat node when two or more distinct non-empty values meet, else transparent."""
        distinct = {v for v in values if v}
        if len(distinct) < 2:
            return union(values)
        return self.add(node_type, union(values), name)

    def layer(
        self,
        node_type: str,
        x: Value,
        name: str,
        weight: tuple[str, tuple[int, ...]] | tuple[tuple[str, tuple[int, ...]], ...],
        bias: tuple[str, tuple[int, ...]] | None = None,
    ) -> Value:
        """A weight node (conv, linear, msa projection, ...) followed by a `bias` node if any."""
        weights = weight if isinstance(weight[0], tuple) else (weight,)
        out = self.add(node_type, x, name, weights)
        if bias is not None:
            out = self.add("bias", out, bias[0], (bias,))
        return out

    def norm(self, node_type: str, x: Value, name: str, channels: int | None, affine: bool = True) -> Value:
        """A bn/ln node owning `name.weight` and `name.bias` ([channels]) when affine."""
        if not affine:
            return self.add(node_type, x, name, ())
        assert channels is not None, "an affine norm has channels"
        return self.add(node_type, x, name, ((f"{name}.weight", (channels,)), (f"{name}.bias", (channels,))))

    def build(self) -> ArchGraph:
        """Freeze into an ArchGraph (edges are unique and sorted by destination, then source)."""
        cpu = functools.partial(torch.tensor, dtype=torch.long, device="cpu")  # also under `with torch.device("meta")`
        return ArchGraph(
            node_types=cpu(self.types),
            edge_index=cpu([self.src, self.dst]).reshape(2, -1),
            level=cpu(self.levels),
            node_names=self.names,
            param_names=self.param_names,
            param_shapes=self.param_shapes,
            param_node=cpu(self.param_node),
        )


def union(values) -> Value:
    """Union of several values."""
    out: set[int] = set()
    for v in values:
        out |= v
    return frozenset(out)


class ParamCounter(GraphBuilder):
    """A GraphBuilder that only counts parameters: the same emit code, none of the graph
    bookkeeping (parameter caps and width searches need no graph)."""

    def __init__(self) -> None:
        super().__init__()
        self.num_params = 0

    def add(
        self, node_type: str, inputs: Value, name: str, params: tuple[tuple[str, tuple[int, ...]], ...] = ()
    ) -> Value:
        """Count `params`; the returned value only tells this node apart from others."""
        self.num_params += sum(math.prod(shape) for _, shape in params)
        self.types.append(0)
        return frozenset((len(self.types),))
