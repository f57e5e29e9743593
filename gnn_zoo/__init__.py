"""gnn_zoo: pluggable GNN cores (PyG and DGL) and the graph hypernetwork (GHN) that hosts them.

Names are imported on first use (PEP 562): the registry's names and the variants load without torch."""
from deepnets1m.lazy import lazy_exports

_WHERE = {
    "Core": "base", "GHN": "ghn", "BACKENDS": "registry", "BackendUnavailable": "registry", "available": "registry",
    "create": "registry", "register": "registry", "require_backend": "registry", "VARIANTS": "variants",
    "Variant": "variants", "resolve_variant": "variants", "load": "api", "calibrate_bn": "api",
    "from_reference": "reference",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
