"""gnn_zoo: pluggable GNN cores (PyG and DGL) and the graph hypernetwork (GHN) that hosts them.

Names are imported on first use (PEP 562): the registry's names and the variants load without torch."""

import warnings
from typing import TYPE_CHECKING

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
if TYPE_CHECKING:  # the lazy names' types, for type checkers (never imported at run time)
    from .api import calibrate_bn as calibrate_bn
    from .api import load as load
    from .api import load_reference as load_reference
    from .api import official_name as official_name
    from .base import Core as Core
    from .ghn import GHN as GHN
    from .hub import from_hub as from_hub
    from .reference import from_reference as from_reference
    from .registry import BACKENDS as BACKENDS
    from .registry import BackendUnavailable as BackendUnavailable
    from .registry import available as available
    from .registry import create as create
    from .registry import register as register
    from .registry import require_backend as require_backend
    from .variants import VARIANTS as VARIANTS
    from .variants import Variant as Variant
    from .variants import resolve_variant as resolve_variant

__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
