"""GHN: the graph hypernetwork hosting a pluggable GNN core."""
from __future__ import annotations

import os

import torch
from torch import nn

from deepnets1m.atomic import atomic_write
from deepnets1m.graph import DEFAULT_MAX_HOPS, GraphBatch
from deepnets1m.node_types import NODE_TYPES
from deepnets1m.trace import to_graph

from .decoder import Decoder, tile_into
from .layout import node_shapes, param_slots
from .registry import create

SHAPE_BINS = 40  # log2-spaced bins of a dimension's size: 2 per octave, up to 2^19


class ShapeEncoder(nn.Module):
    """Sum of embeddings of a node's parameter shape (out, in, kh, kw), each dim log2-binned;
    nodes without parameters get zeros."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.embed = nn.ModuleList(nn.Embedding(SHAPE_BINS, hidden, padding_idx=0) for _ in range(4))

    def forward(self, shapes: torch.Tensor) -> torch.Tensor:
        bins = torch.where(shapes > 0, 1 + torch.round(2 * torch.log2(shapes.clamp(min=1).float())).long(), 0)
        bins = bins.clamp(max=SHAPE_BINS - 1)
        return sum(e(bins[:, i]) for i, e in enumerate(self.embed))


class GHN(nn.Module):
    """Graph hypernetwork: op-type + shape embeddings -> GNN core -> LayerNorm -> decoder.

    `predict(batch)` returns, for each graph, {parameter name: predicted tensor} (differentiable,
    for meta-training); `ghn(module)` writes predicted parameters into `module` and returns it.
    """

    def __init__(self, core: str = "gatedgnn", backend: str = "pyg", hidden: int = 64, layers: int = 1,
                 num_classes: int = 10, max_hops: int = DEFAULT_MAX_HOPS, layernorm: bool = True,
                 block: int = 64, kernel: int = 7, basis: int = 4, **core_kwargs) -> None:
        super().__init__()
        self.config = dict(core=core, backend=backend, hidden=hidden, layers=layers, num_classes=num_classes,
                           max_hops=max_hops, layernorm=layernorm, block=block, kernel=kernel, basis=basis,
                           **core_kwargs)
        self.num_classes = num_classes
        self.type_embed = nn.Embedding(len(NODE_TYPES), hidden)
        self.shape_enc = ShapeEncoder(hidden)
        self.core = create(core, backend, hidden=hidden, layers=layers, **core_kwargs)
        self.max_hops = max_hops if self.core.uses_virtual_edges else 0
        self.norm = nn.LayerNorm(hidden) if layernorm else nn.Identity()
        self.decoder = Decoder(hidden, num_classes, block, kernel, basis)

    def batch(self, graphs) -> GraphBatch:
        """A GraphBatch of `graphs` with the virtual edges this GHN's core uses."""
        return GraphBatch.from_graphs(list(graphs), max_hops=self.max_hops)

    def embed(self, batch: GraphBatch) -> torch.Tensor:
        """Node embeddings after the core and the optional LayerNorm, [N, hidden]."""
        device = self.type_embed.weight.device
        batch = batch.to(device)  # a no-op on CPU; on a GPU the cores get their index tensors there
        x = self.type_embed(batch.node_types) + self.shape_enc(node_shapes(batch).to(device))
        return self.norm(self.core(x, batch))

    def predict(self, batch: GraphBatch) -> list[dict[str, torch.Tensor]]:
        """Predicted parameters of every graph in `batch`, by name, in the GHN's own dtype (float32
        unless it was cast: under autocast the GHN computes them in lower precision, while the nets'
        own BatchNorm statistics stay float32)."""
        slots = param_slots(batch, self.num_classes)
        dtype = self.type_embed.weight.dtype
        out: list[dict[str, torch.Tensor]] = [{} for _ in range(batch.num_graphs)]
        for slot, value in zip(slots, self.decoder(self.embed(batch), slots)):
            out[slot.graph][slot.name] = value.to(dtype)
        return out

    @torch.no_grad()
    def forward(self, module: nn.Module) -> nn.Module:
        """Write predicted parameters into `module` (in place, tiled straight into its tensors;
        training mode, buffers and requires_grad untouched) and return it."""
        batch = self.batch([to_graph(module)])
        slots = param_slots(batch, self.num_classes)
        params = dict(module.named_parameters(remove_duplicate=False))
        for slot, block in zip(slots, self.decoder.blocks(self.embed(batch), slots)):
            tile_into(params[slot.name], block.to(params[slot.name].device))
        return module

    def save(self, path: str | os.PathLike, **extra) -> None:
        """Checkpoint: config + weights, the core's in its PyG layout so any backend can load it,
        plus any `extra` entries (tensors and plain data); written atomically."""
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("core.")}
        state.update({f"core.{k}": v for k, v in self.core.pyg_state_dict().items()})
        with atomic_write(path) as f:
            torch.save({"format": "ghnbench-ghn-1", "config": self.config, "state_dict": state, **extra}, f)

    @classmethod
    def load(cls, path: str | os.PathLike, backend: str | None = None, map_location="cpu") -> GHN:
        """A GHN from a checkpoint (weights_only), optionally with the core on another backend."""
        try:
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
            config, state = ckpt["config"], ckpt["state_dict"]
        except FileNotFoundError:
            raise
        except Exception as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ValueError(f"{path} is not a readable GHN checkpoint ({reason}); re-train it or point to another "
                             f"file") from err
        ghn = cls(**{**config, "backend": backend or config["backend"]})
        core = {k[5:]: v for k, v in state.items() if k.startswith("core.")}
        rest = {k: v for k, v in state.items() if not k.startswith("core.")}
        ghn.load_state_dict(rest, strict=False)
        ghn.core.load_pyg_state_dict(core)
        missing = set(ghn.state_dict()) - set(rest) - {f"core.{k}" for k in ghn.core.state_dict()}
        if missing:
            raise ValueError(f"{path} lacks weights {sorted(missing)[:5]}; it was not written by this GHN version")
        return ghn
