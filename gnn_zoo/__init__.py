"""gnn_zoo: pluggable GNN cores (PyG and DGL) and the graph hypernetwork (GHN) that hosts them.

Names are imported on first use (PEP 562): the registry's names and the variants load without torch."""

import warnings

from deepnets1m.lazy import lazy_exports

# raised inside torch_geometric's own imports (the PyG cores), not by anything a user can change
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)

_WHERE = {
    "Core": "base",
    "GHN": "ghn",
    "BACKENDS": "registry",
    "BackendUnavailable": "registry",
    "available": "registry",
    "create": "registry",
    "register": "registry",
    "require_backend": "registry",
    "VARIANTS": "variants",
    "Variant": "variants",
    "resolve_variant": "variants",
    "load": "api",
    "calibrate_bn": "api",
    "from_reference": "reference",
    "from_hub": "hub",
    "load_reference": "api",
    "official_name": "api",
}
__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
