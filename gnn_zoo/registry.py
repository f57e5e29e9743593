"""Registry of GNN cores in the style of timm/PyG: `create(name, backend, ...)`, `available()`.

A new GNN plugs in with one file per backend and one line in CORES (or `register` at run time).
Implementations are imported lazily, so DGL is only imported when a dgl core is created.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the base class pulls in torch; the registry's names do not need it
    from .base import Core

BACKENDS = ("pyg", "dgl")

# name -> backend -> "module:Class"
CORES: dict[str, dict[str, str]] = {
    "gatedgnn": {"pyg": "gnn_zoo.cores.pyg.gatedgnn:GatedGNN", "dgl": "gnn_zoo.cores.dgl.gatedgnn:GatedGNN"},
    "gcn": {"pyg": "gnn_zoo.cores.pyg.gcn:GCN", "dgl": "gnn_zoo.cores.dgl.gcn:GCN"},
    "gat": {"pyg": "gnn_zoo.cores.pyg.gat:GAT", "dgl": "gnn_zoo.cores.dgl.gat:GAT"},
    "gin": {"pyg": "gnn_zoo.cores.pyg.gin:GIN", "dgl": "gnn_zoo.cores.dgl.gin:GIN"},
    "transformer": {
        "pyg": "gnn_zoo.cores.pyg.transformer:GraphTransformer",
        "dgl": "gnn_zoo.cores.dgl.transformer:GraphTransformer",
    },
    "mlp": {"pyg": "gnn_zoo.cores.mlp:MLPCore", "dgl": "gnn_zoo.cores.mlp:MLPCore"},
}

DGL_INSTALL_HINT = (
    "DGL's last Linux release on PyPI (dgl==2.1.0) works only with torch==2.2.1: install it in its "
    "own environment with `pip install -e '.[dgl]'` from the repository (or use `tox -e dgl`), with DGLBACKEND=pytorch"
)


class BackendUnavailable(ImportError):
    """The backend library of a core is not importable here; the message says how to install it."""


def register(name: str, backend: str, target: str) -> None:
    """Register `target` ("module:Class", a Core subclass) as GNN `name` for `backend`."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    CORES.setdefault(name, {})[backend] = target


def available() -> dict[str, tuple[str, ...]]:
    """Registered GNN names and the backends each one has."""
    return {name: tuple(b for b in BACKENDS if b in impls) for name, impls in CORES.items()}


def require_backend(backend: str) -> None:
    """Raise BackendUnavailable (saying how to install it) unless `backend`'s library imports here."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    library = "torch_geometric" if backend == "pyg" else "dgl"
    try:
        importlib.import_module(library)
    except (ImportError, OSError) as err:  # a DGL built for another torch fails loading its libraries
        hint = DGL_INSTALL_HINT if backend == "dgl" else "pip install torch-geometric"
        raise BackendUnavailable(
            f"backend {backend!r} needs {library}, which failed to import ({err}). {hint}"
        ) from err


def core_class(name: str, backend: str) -> type[Core]:
    """The Core subclass registered for (name, backend)."""
    if name not in CORES:
        raise ValueError(f"unknown GNN {name!r}; available: {', '.join(CORES)}")
    if backend not in CORES[name]:
        raise ValueError(f"unknown backend {backend!r} for GNN {name!r}; available: {', '.join(CORES[name])}")
    module_name, cls_name = CORES[name][backend].split(":")
    if backend == "dgl":
        require_backend("dgl")  # a clear install hint rather than a deep import error
    module = importlib.import_module(module_name)
    return getattr(module, cls_name)


def create(name: str, backend: str = "pyg", hidden: int = 64, layers: int = 1, **kwargs) -> Core:
    """A GNN core of width `hidden` with `layers` rounds/layers; extra kwargs go to the core. A
    core on another backend than PyG is checked to map its weights one to one, name and shape,
    onto its PyG twin's (so checkpoints move between backends)."""
    core = core_class(name, backend)(hidden=hidden, layers=layers, **kwargs)
    core.backend = core.backend or backend  # backend-free cores (mlp) take the one asked for
    if backend != "pyg" and "pyg" in CORES[name]:
        twin = core_class(name, "pyg")(hidden=hidden, layers=layers, **kwargs)
        check_same_layout(core, twin)
    return core


def check_same_layout(core: Core, twin: Core) -> None:
    """ValueError unless `core`'s weights, renamed to PyG's names, are exactly `twin`'s: one to one, same shapes."""
    mine = {k: tuple(v.shape) for k, v in core.pyg_state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in twin.state_dict().items()}
    if mine != theirs or len(mine) != len(core.state_dict()):
        diff = sorted(set(mine.items()) ^ set(theirs.items()))[:4]
        raise ValueError(
            f"{core.name}/{core.backend} weights do not map one to one onto {twin.name}/pyg's "
            f"(pyg_renames / pyg_transposed); differing entries: {diff}"
        )
