"""Core: the interface every GNN core implements, whatever its backend."""

from __future__ import annotations

import torch
from torch import nn

from deepnets1m.graph import GraphBatch

from .views import check_view


class Core(nn.Module):
    """forward(x [N, hidden], batch) -> [N, hidden]. Subclasses set `backend`, `name` and the
    graph `views` they can take (gnn_zoo.views); a core is built for one of them, by default
    `virtual` where it can take it, else its first.

    Cores of one GNN share their weights across backends: `pyg_renames` lists (own name
    fragment, PyG name fragment) pairs and `pyg_transposed` the own parameters stored
    transposed relative to PyG, so `load_state_from` copies weights between backends.
    """

    backend: str = ""
    name: str = ""
    views: tuple[str, ...] = ("none",)
    pyg_renames: tuple[tuple[str, str], ...] = ()
    pyg_transposed: tuple[str, ...] = ()

    def __init__(self, hidden: int, layers: int, view: str | None = None) -> None:
        super().__init__()
        if hidden < 1 or layers < 1:
            raise ValueError(f"hidden and layers must be positive, got hidden={hidden}, layers={layers}")
        self.hidden = hidden
        self.layers = layers
        self.view = view or self.default_view()
        check_view(self.view, self.views, self.name)

    @classmethod
    def default_view(cls) -> str:
        """The view a core gets unless told otherwise: `virtual` if it can take it, else its first."""
        return "virtual" if "virtual" in cls.views else cls.views[0]

    def forward(self, x: torch.Tensor, batch: GraphBatch) -> torch.Tensor:
        raise NotImplementedError

    def pyg_state_dict(self) -> dict[str, torch.Tensor]:
        """State dict with the names and layouts of this GNN's PyG core."""
        out = {}
        for key, value in self.state_dict().items():
            if any(key.endswith(t) for t in self.pyg_transposed):
                value = value.t()
            for own, pyg in self.pyg_renames:
                key = key.replace(own, pyg)
            out[key] = value
        return out

    def load_state_from(self, other: Core) -> None:
        """Copy the weights of `other`, the same GNN on any backend."""
        if other.name != self.name:
            raise ValueError(f"cannot load {other.name!r} weights into a {self.name!r} core")
        self.load_pyg_state_dict(other.pyg_state_dict())

    def load_pyg_state_dict(self, pyg_state: dict[str, torch.Tensor]) -> None:
        """Load weights given with PyG names and layouts (as pyg_state_dict returns them)."""
        state = {}
        for key, value in pyg_state.items():
            for own, pyg in self.pyg_renames:
                key = key.replace(pyg, own)
            if any(key.endswith(t) for t in self.pyg_transposed):
                value = value.t()
            state[key] = value
        self.load_state_dict(state)


def bias_of(layer: nn.Conv2d | nn.Linear) -> torch.Tensor:
    """The bias of a layer built with one."""
    assert layer.bias is not None
    return layer.bias


def linears(mlp: nn.Sequential) -> tuple[nn.Linear, nn.Linear]:
    """The two Linear layers of a two_layer_mlp."""
    first, second = mlp[0], mlp[2]
    assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)
    return first, second


def two_layer_mlp(hidden: int, inner: int | None = None, final_relu: bool = False) -> nn.Sequential:
    """Linear hidden -> inner (default hidden) -> ReLU -> Linear -> hidden, and a ReLU after the
    second layer too if `final_relu` (GHN-2's message MLPs and its MLP baseline; GIN's has none)."""
    inner = inner or hidden
    layers = [nn.Linear(hidden, inner), nn.ReLU(), nn.Linear(inner, hidden)]
    return nn.Sequential(*layers, *([nn.ReLU()] if final_relu else []))


def embedding_params(module: nn.Module) -> int:
    """Parameters of `module` held in embedding tables (lookups: protocol v1's budget leaves them out)."""
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Embedding))


def head_width(hidden: int, heads: int, gnn: str) -> int:
    """Per-head width so that `heads` concatenated heads are `hidden` wide."""
    if hidden % heads:
        raise ValueError(f"{gnn} needs hidden ({hidden}) divisible by heads ({heads})")
    return hidden // heads
