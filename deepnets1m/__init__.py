"""DeepNets-1M: the architecture space of GHN-2, its splits, and graphs of any nn.Module."""
from .graph import DEFAULT_MAX_HOPS, ArchGraph, GraphBatch
from .net import build_net, spec_graph
from .node_types import NODE_TYPE_ID, NODE_TYPES
from .predefined import PREDEFINED
from .spec import PRIMITIVES, ArchSpec
from .splits import SPLIT_NAMES, SPLITS, sample
from .trace import GraphConstructionError, to_graph

__all__ = [
    "ArchGraph", "ArchSpec", "DEFAULT_MAX_HOPS", "GraphBatch", "GraphConstructionError", "NODE_TYPES",
    "NODE_TYPE_ID", "PREDEFINED", "PRIMITIVES", "SPLITS", "SPLIT_NAMES", "build_net", "sample",
    "spec_graph", "to_graph",
]
