"""Cores from outside the zoo: `--gnn file.py:Class` or `--gnn pkg.module:Class`, and the
installed packages' `ghnbench.cores` entry points (name = "pkg.module:Class").

A plugin core is a `gnn_zoo.Core` subclass, as the zoo's are: `name` (its name in records and
tables; the class name lowercased when empty), `views`, and `backend` ("" for a core that needs
no graph library: it then serves both backends). Registering it is what `register` does for the
zoo's own cores; the harness then treats it like any other (protocol v1 matches its budget
automatically, bench.config.protocol)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path

from .base import Core
from .registry import BACKENDS, CORES, register

ENTRY_POINT_GROUP = "ghnbench.cores"
PLUGINS: dict[str, str] = {}  # name -> the target it was registered from (what a sweep job passes on)


def is_plugin(text: str) -> bool:
    """Whether a --gnn value names a class (`file.py:Class`, `pkg.module:Class`) rather than a core."""
    return ":" in text


def import_target(target: str) -> tuple[str, type[Core]]:
    """(importable module name, class) of `file.py:Class` or `pkg.module:Class`; a ValueError
    names what is wrong and how to fix it."""
    where, _, cls_name = target.rpartition(":")
    if not where or not cls_name:
        raise ValueError(f"--gnn {target}: expected file.py:Class or pkg.module:Class")
    if where.endswith(".py"):
        path = Path(where).resolve()
        if not path.is_file():
            raise ValueError(f"--gnn {target}: no such file {path}")
        module_name = f"ghnbench_plugin_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        if module_name not in sys.modules:
            spec = importlib.util.spec_from_file_location(module_name, path)
            assert spec is not None and spec.loader is not None  # a .py path always has a source loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as err:
                del sys.modules[module_name]
                raise ValueError(f"--gnn {target}: {path} failed to import ({type(err).__name__}: {err})") from err
    else:
        module_name = where
        try:
            importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(f"--gnn {target}: module {module_name} is not importable ({err})") from err
    cls = getattr(sys.modules[module_name], cls_name, None)
    if cls is None:
        found = sorted(
            n
            for n, v in vars(sys.modules[module_name]).items()
            if isinstance(v, type) and issubclass(v, Core) and v is not Core
        )
        raise ValueError(
            f"--gnn {target}: {where} has no {cls_name}"
            + (f"; its Core subclasses: {', '.join(found)}" if found else "; it defines no Core subclass")
        )
    if not (isinstance(cls, type) and issubclass(cls, Core)):
        raise ValueError(f"--gnn {target}: {cls_name} is not a gnn_zoo.Core subclass in {where}")
    return module_name, cls


def register_plugin(target: str) -> str:
    """Register the core class `target` names (for its backend, or both when it needs none)
    and return its name."""
    module_name, cls = import_target(target)
    name = cls.name or cls.__name__.lower()
    if name in CORES and name not in PLUGINS:
        raise ValueError(
            f"--gnn {target}: its name {name!r} is a core of the zoo already; give the class another `name`"
        )
    for backend in (cls.backend,) if cls.backend else BACKENDS:
        register(name, backend, f"{module_name}:{cls.__name__}")
    where, _, cls_name = target.rpartition(":")
    PLUGINS[name] = f"{Path(where).resolve()}:{cls_name}" if where.endswith(".py") else target
    return name


def resolve_gnn(text: str) -> str:
    """A --gnn value as a registered core name: plugins registered on the way."""
    return register_plugin(text) if is_plugin(text) else text


def load_entry_points() -> None:
    """Register the core of every installed package's `ghnbench.cores` entry point."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.value not in PLUGINS.values():
            register_plugin(ep.value)
