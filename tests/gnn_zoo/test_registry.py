import sys

import pytest
import torch

import gnn_zoo
from gnn_zoo import BackendUnavailable, Core, available, create, register

GNNS = ["gatedgnn", "gcn", "gat", "gin", "transformer", "mlp"]


def test_available_lists_every_gnn_on_both_backends():
    assert set(available()) >= set(GNNS)
    for name in GNNS:
        assert available()[name] == ("pyg", "dgl")


def test_unknown_gnn_and_backend_are_clear_errors():
    with pytest.raises(ValueError, match="unknown GNN 'gatv3'; available: gatedgnn, gcn, gat"):
        create("gatv3")
    with pytest.raises(ValueError, match="unknown backend 'jax' for GNN 'gcn'; available: pyg, dgl"):
        create("gcn", "jax")


def test_missing_dgl_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dgl", None)  # makes `import dgl` fail
    for mod in [m for m in sys.modules if m.startswith("gnn_zoo.cores.dgl")]:
        monkeypatch.delitem(sys.modules, mod)
    with pytest.raises(BackendUnavailable, match=r"torch==2.2.1.*ghnbench\[dgl\]"):
        create("gat", "dgl")


class Identity(Core):
    backend, name = "pyg", "identity"

    def forward(self, x, batch):
        return x


def test_register_a_new_gnn(batch, monkeypatch):
    monkeypatch.setitem(gnn_zoo.registry.CORES, "identity", {})
    register("identity", "pyg", f"{__name__}:Identity")
    core = create("identity", "pyg", hidden=8)
    x = torch.randn(batch.num_nodes, 8)
    assert torch.equal(core(x, batch), x)
    assert available()["identity"] == ("pyg",)
