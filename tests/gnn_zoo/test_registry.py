import ast
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
from torch_geometric.nn import SAGEConv

import gnn_zoo
from gnn_zoo import BackendUnavailable, Core, available, create, register
from gnn_zoo.cores.pyg.stack import PyGStack

from .contract import check_contract, core_cases


def test_available_lists_every_gnn_on_both_backends():
    assert set(available()) >= {"gatedgnn", "gcn", "gat", "gin", "transformer", "mlp"}
    for name, backends in available().items():
        assert backends == ("pyg", "dgl"), name


@pytest.mark.parametrize("name", sorted(gnn_zoo.registry.CORES))
def test_every_registry_target_resolves(name):
    """PyG targets import; DGL targets' files define their class (read without importing DGL)."""
    for backend, target in gnn_zoo.registry.CORES[name].items():
        module_name, cls_name = target.split(":")
        if backend == "pyg" or module_name.startswith("gnn_zoo.cores.mlp"):
            assert issubclass(getattr(importlib.import_module(module_name), cls_name), Core), target
        else:
            source = Path(importlib.util.find_spec(module_name.rsplit(".", 1)[0]).origin).parent
            tree = ast.parse((source / f"{module_name.rsplit('.', 1)[1]}.py").read_text())
            assert cls_name in {n.name for n in tree.body if isinstance(n, ast.ClassDef)}, target


def test_unknown_gnn_and_backend_are_clear_errors():
    with pytest.raises(ValueError, match="unknown GNN 'gatv3'; available: gatedgnn, gcn, gat"):
        create("gatv3")
    with pytest.raises(ValueError, match="unknown backend 'jax' for GNN 'gcn'; available: pyg, dgl"):
        create("gcn", "jax")


def test_missing_dgl_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dgl", None)  # makes `import dgl` fail
    for mod in [m for m in sys.modules if m.startswith("gnn_zoo.cores.dgl")]:
        monkeypatch.delitem(sys.modules, mod)
    with pytest.raises(BackendUnavailable, match=r"torch==2.2.1.*pip install -e '\.\[dgl\]'"):
        create("gat", "dgl")


class SAGE(PyGStack):
    """A throwaway core: one short file's worth, the conv and how to call it."""

    name = "sage"

    def make_conv(self, hidden):
        return SAGEConv(hidden, hidden)

    def run_conv(self, conv, x, edges, weight):
        return conv(x, edges)


def test_register_a_new_gnn_gets_the_whole_contract(graphs, monkeypatch):
    monkeypatch.setitem(gnn_zoo.registry.CORES, "sage", {})
    register("sage", "pyg", f"{__name__}:SAGE")
    assert available()["sage"] == ("pyg",)
    cases = [p.values for p in core_cases("pyg") if p.values[0] == "sage"]
    assert cases == [("sage", "undirected"), ("sage", "directed"), ("sage", "virtual")]
    for name, view in cases:
        check_contract(name, "pyg", view, graphs)
