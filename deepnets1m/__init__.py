"""DeepNets-1M: the architecture space of GHN-2, its splits, and graphs of any nn.Module.

Names are imported on first use (PEP 562), so reading split names or records does not load torch."""

from typing import TYPE_CHECKING

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
if TYPE_CHECKING:  # the lazy names' types, for type checkers (never imported at run time)
    from .graph import DEFAULT_MAX_HOPS as DEFAULT_MAX_HOPS
    from .graph import ArchGraph as ArchGraph
    from .graph import GraphBatch as GraphBatch
    from .named import PREDEFINED as PREDEFINED
    from .net import build_net as build_net
    from .net import spec_graph as spec_graph
    from .node_types import NODE_TYPE_ID as NODE_TYPE_ID
    from .node_types import NODE_TYPES as NODE_TYPES
    from .spec import PRIMITIVES as PRIMITIVES
    from .spec import ArchSpec as ArchSpec
    from .splits import SPLIT_NAMES as SPLIT_NAMES
    from .splits import SPLITS as SPLITS
    from .splits import sample as sample
    from .trace import GraphConstructionError as GraphConstructionError
    from .trace import to_graph as to_graph

__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
