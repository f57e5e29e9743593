"""DeepNets-1M: the architecture space of GHN-2, its splits, and graphs of any nn.Module.

Names are imported on first use (PEP 562), so reading split names or records does not load torch."""

from .lazy import lazy_exports

_WHERE = {
    "ArchGraph": "graph",
    "DEFAULT_MAX_HOPS": "graph",
    "GraphBatch": "graph",
    "build_net": "net",
    "spec_graph": "net",
    "NODE_TYPE_ID": "node_types",
    "NODE_TYPES": "node_types",
    "PREDEFINED": "named",
    "PRIMITIVES": "spec",
    "ArchSpec": "spec",
    "SPLIT_NAMES": "splits",
    "SPLITS": "splits",
    "sample": "splits",
    "GraphConstructionError": "trace",
    "to_graph": "trace",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
