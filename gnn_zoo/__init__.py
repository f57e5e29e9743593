"""gnn_zoo: pluggable GNN cores (PyG and DGL) and the graph hypernetwork (GHN) that hosts them."""
from .base import Core
from .ghn import GHN
from .registry import BACKENDS, BackendUnavailable, available, create, register, require_backend
from .variants import VARIANTS, Variant, resolve_variant

__all__ = ["BACKENDS", "BackendUnavailable", "Core", "GHN", "available", "create", "register", "require_backend",
           "VARIANTS", "Variant", "resolve_variant"]
