"""gnn_zoo: pluggable GNN cores (PyG and DGL) and the graph hypernetwork (GHN) that hosts them.

Names are imported on first use (PEP 562): the registry's names and the variants load without torch."""
import importlib

_WHERE = {
    "Core": "base", "GHN": "ghn", "BACKENDS": "registry", "BackendUnavailable": "registry", "available": "registry",
    "create": "registry", "register": "registry", "require_backend": "registry", "VARIANTS": "variants",
    "Variant": "variants", "resolve_variant": "variants",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    """The public name `name`, imported from its submodule."""
    if name not in _WHERE:
        raise AttributeError(f"module 'gnn_zoo' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
