"""GHN: the graph hypernetwork hosting a pluggable GNN core."""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np
import torch
from torch import nn

from deepnets1m.atomic import atomic_write
from deepnets1m.graph import DEFAULT_MAX_HOPS, ArchGraph, GraphBatch
from deepnets1m.node_types import NODE_TYPES
from deepnets1m.trace import to_graph

from .conv_decoder import ConvDecoder
from .conv_decoder3 import ConvDecoder3
from .decoder import tile_into
from .ghn3_graph import ghn3_view
from .init import ghn3_init
from .layout import head_shape, node_shapes, param_slots
from .registry import core_class, create
from .views import needs_virtual_edges


def channel_vocabulary(num_classes: int) -> list[int]:
    """GHN-2's channel values: 1, 3, the class count, 8..56 step 8, 64..4080 step 16, 4096..8192 step 32."""
    return sorted({1, 3, num_classes} | set(range(8, 57, 8)) | set(range(64, 4081, 16)) | set(range(4096, 8193, 32)))


def spatial_vocabulary(max_side: int) -> list[int]:
    """GHN-2's spatial values: the odd sizes below max(12, s), then 14 and 16."""
    return sorted(set(range(1, max(12, max_side), 2)) | {14, 16})


def nearest_lookup(values: list[int], overrides: dict[int, int]) -> torch.Tensor:
    """[max(values) + 1] index of each value's nearest entry of `values` (ties to the lower one),
    then `overrides` (value -> the entry it takes instead): GHN-2's lookup tables."""
    table = np.asarray(values)
    lookup = np.abs(table[None, :] - np.arange(table[-1] + 1)[:, None]).argmin(1)  # argmin: the first, lower one
    for value, entry in overrides.items():
        lookup[value] = values.index(entry)
    return torch.from_numpy(lookup)


class ShapeEncoder(nn.Module):
    """GHN-2's shape encoder: a node's shape as (out, in, h, w) (1-D n as (n, 1, 1, 1), 2-D as
    (o, i, 1, 1)); out and in index a channel vocabulary, h and w a spatial one, and the four
    embeddings of hidden/4 are concatenated. As in the reference, a value outside a vocabulary
    takes its nearest entry, ties to the lower one (channels 12 -> 10, 72 -> 64, 2 -> 1), except
    channels 4-7, which take 8, and the spatial size 2, which takes 3; values beyond the largest
    entry take it. Entry i of a vocabulary is embedding row i and the last row is "no shape"
    (nodes without parameters), the reference's layout."""

    channel_values: torch.Tensor  # buffers (registered in __init__)
    spatial_values: torch.Tensor
    channel_lookup: torch.Tensor
    spatial_lookup: torch.Tensor

    def __init__(self, hidden: int, num_classes: int, max_side: int = 11) -> None:
        super().__init__()
        if hidden % 4:
            raise ValueError(f"the shape encoder concatenates 4 embeddings: hidden ({hidden}) must be divisible by 4")
        channels, spatial = channel_vocabulary(num_classes), spatial_vocabulary(max_side)
        self.register_buffer("channel_values", torch.tensor(channels), persistent=False)
        self.register_buffer("spatial_values", torch.tensor(spatial), persistent=False)
        self.register_buffer("channel_lookup", nearest_lookup(channels, {c: 8 for c in range(4, 8)}), persistent=False)
        self.register_buffer("spatial_lookup", nearest_lookup(spatial, {2: 3}), persistent=False)
        self.channel = nn.Embedding(len(channels) + 1, hidden // 4)
        self.spatial = nn.Embedding(len(spatial) + 1, hidden // 4)

    def forward(self, shapes: torch.Tensor) -> torch.Tensor:
        """[N, hidden] codes of [N, 4] shapes (0: missing dim; all 0: no shape)."""
        has = shapes[:, 0] > 0
        dims = torch.where(has[:, None] & (shapes == 0), 1, shapes)

        def index(lookup: torch.Tensor, no_shape: int, d: torch.Tensor) -> torch.Tensor:
            return torch.where(has, lookup[d.clamp(0, len(lookup) - 1)], no_shape)

        ch, sp = (self.channel_lookup, len(self.channel_values)), (self.spatial_lookup, len(self.spatial_values))
        return torch.cat(
            [
                self.channel(index(*ch, dims[:, 0])),
                self.channel(index(*ch, dims[:, 1])),
                self.spatial(index(*sp, dims[:, 2])),
                self.spatial(index(*sp, dims[:, 3])),
            ],
            dim=1,
        )


SHELL_STREAM, CORE_STREAM, GHN3_INIT_STREAM = 0, 1, 2  # init streams of a seeded GHN (common random numbers)
DECODERS = ("ghn2", "ghn3")


@contextlib.contextmanager
def seeded(seed: int | None, stream: int):
    """Draw torch's default generator from (seed, stream) inside the block and restore it after;
    a no-op for seed None (the global generator as it stands)."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(np.random.SeedSequence([seed, stream]).generate_state(1)[0]))
        yield


class GHN(nn.Module):
    """Graph hypernetwork (GHN-2, reference section 6): op-type + shape embeddings -> GNN core ->
    LayerNorm -> GHN-2's conv decoder. `layernorm=False, scaling=False, max_hops=1` is GHN-1
    (see gnn_zoo.variants). `decoder="ghn3"` is GHN-3's decoder (ConvDecoder3) with GHN-3's
    initialisation (ghn3_init) and its reading of graphs (ghn3_view) and shapes; with the
    `transformer` core that is GHN-3 as published. The core gets graph `view` (gnn_zoo.views;
    default: the core's own), and batches carry shortest-path edges up to `max_hops` only for
    views that use them.

    With `init_seed`, the shell (type and shape embeddings, LayerNorm, decoder) is drawn from a
    generator keyed on the seed alone and the core from another: for one seed every core starts
    from the same shell (common random numbers), and only the core's own weights differ.

    `predict(batch)` returns, for each graph, {parameter name: predicted tensor} (differentiable,
    for meta-training); `ghn(module)` writes predicted parameters into `module` and returns it.
    """

    def __init__(
        self,
        core: str = "gatedgnn",
        backend: str = "pyg",
        hidden: int = 32,
        layers: int = 1,
        num_classes: int = 10,
        max_hops: int = DEFAULT_MAX_HOPS,
        layernorm: bool = True,
        max_side: int = 11,
        scaling: bool = True,
        view: str | None = None,
        init_seed: int | None = None,
        decoder: str = "ghn2",
        **core_kwargs,
    ) -> None:
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"unknown GHN decoder {decoder!r}; choose from {', '.join(DECODERS)}")
        view = view or core_class(core, backend).default_view()
        self.config = dict(
            core=core,
            backend=backend,
            hidden=hidden,
            layers=layers,
            num_classes=num_classes,
            max_hops=max_hops,
            layernorm=layernorm,
            max_side=max_side,
            scaling=scaling,
            view=view,
            **({"decoder": decoder} if decoder != "ghn2" else {}),
            **core_kwargs,
        )
        self.num_classes, self.ghn3 = num_classes, decoder == "ghn3"  # GHN-3 reads graphs and shapes as its tracer does
        with seeded(init_seed, SHELL_STREAM):  # the shell's init depends on the seed alone, whatever the core
            self.type_embed = nn.Embedding(len(NODE_TYPES), hidden)
            self.shape_enc = ShapeEncoder(hidden, num_classes, max_side)
            self.norm = nn.LayerNorm(hidden) if layernorm else nn.Identity()
            make = ConvDecoder3 if decoder == "ghn3" else ConvDecoder
            self.decoder = make(hidden, num_classes, max_side, scaling)
        if view == "sweep":  # the gated GNN's MLPs depend on whether its sweeps have virtual edges
            core_kwargs = {"virtual_edges": max_hops >= 2, **core_kwargs}
        with seeded(init_seed, CORE_STREAM):
            self.core = create(core, backend, hidden=hidden, layers=layers, view=view, **core_kwargs)
        self.max_hops = max_hops if needs_virtual_edges(view) else 0
        if decoder == "ghn3":
            with seeded(init_seed, GHN3_INIT_STREAM):
                ghn3_init(self)

    def batch(self, graphs) -> GraphBatch:
        """A GraphBatch of `graphs` with the virtual edges this GHN's core uses (GHN-3: of each
        graph's ghn3_view)."""
        graphs = [ghn3_view(g) for g in graphs] if self.ghn3 else list(graphs)
        return GraphBatch.from_graphs(graphs, max_hops=self.max_hops)

    def embed(self, batch: GraphBatch) -> torch.Tensor:
        """Node embeddings after the core and the optional LayerNorm, [N, hidden]."""
        device = self.type_embed.weight.device
        batch = batch.to(device)  # a no-op on CPU; on a GPU the cores get their index tensors there
        x = self.type_embed(batch.node_types) + self.shape_enc(node_shapes(batch, token_grids=self.ghn3).to(device))
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
    def forward(
        self, module: nn.Module, leaf_modules: tuple[type, ...] = (), graph: ArchGraph | None = None
    ) -> nn.Module:
        """Write predicted parameters into `module` (in place, tiled straight into its tensors;
        training mode, buffers and requires_grad untouched) and return it. The module is traced
        with `leaf_modules` kept whole (for data-dependent control flow inside them), unless its
        `graph` (deepnets1m.to_graph) is given."""
        graph = graph if graph is not None else to_graph(module, leaf_modules)
        self.warn_about(module, graph)
        batch = self.batch([graph])
        slots = param_slots(batch, self.num_classes)
        params = dict(module.named_parameters(remove_duplicate=False))
        for slot, block in zip(slots, self.decoder.blocks(self.embed(batch), slots)):
            tile_into(params[slot.name], block.to(params[slot.name].device))
        return module

    def warn_about(self, module: nn.Module, graph: ArchGraph) -> None:
        """Warn when `module`'s head has another number of outputs than this GHN's classes (its
        classifier is then predicted as any weight, by tiling), and when it is in eval mode with
        BatchNorm running statistics that predicted parameters leave at their defaults."""
        head = head_shape(graph)
        if head is not None and len(head) == 2 and head[0] != self.num_classes:
            warnings.warn(
                f"{type(module).__name__}'s last layer has {head[0]} outputs, but this GHN was trained for "
                f"{self.num_classes} classes: that layer is predicted as any other weight (tiled), not by "
                f"the classifier decoder",
                stacklevel=2,
            )
        stale = any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and not m.training
            for m in module.modules()
        )
        if stale:
            warnings.warn(
                f"{type(module).__name__} is in eval mode with BatchNorm running statistics, which a GHN "
                f"does not predict: calibrate them with gnn_zoo.calibrate_bn(model, batches) before "
                f"using it in eval mode (or run it in train mode)",
                stacklevel=2,
            )

    def save(self, path: str | os.PathLike, **extra) -> None:
        """Checkpoint: config + weights, the core's in its PyG layout so any backend can load it,
        plus any `extra` entries (tensors and plain data); written atomically."""
        state = {k: v for k, v in self.state_dict().items() if not k.startswith("core.")}
        state.update({f"core.{k}": v for k, v in self.core.pyg_state_dict().items()})
        with atomic_write(path) as f:
            torch.save({"format": "ghnbench-ghn-1", "config": self.config, "state_dict": state, **extra}, f)

    @staticmethod
    def read_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
        """A checkpoint's contents (weights_only), with its `config` and `state_dict`; a ValueError
        naming the file when it is no readable GHN checkpoint (FileNotFoundError as is)."""
        try:
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
            missing = [key for key in ("config", "state_dict") if key not in ckpt]
            if missing:
                raise KeyError(f"no {' or '.join(missing)}")
        except FileNotFoundError:
            raise
        except Exception as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ValueError(
                f"{path} is not a readable GHN checkpoint ({reason}); re-train it or point to another file"
            ) from err
        return ckpt

    @classmethod
    def load(cls, path: str | os.PathLike, backend: str | None = None, map_location="cpu") -> GHN:
        """A GHN from a checkpoint (weights_only), optionally with the core on another backend."""
        ckpt = cls.read_checkpoint(path, map_location)
        config, state = ckpt["config"], ckpt["state_dict"]
        ghn = cls(**{**config, "backend": backend or config["backend"]})
        core = {k[5:]: v for k, v in state.items() if k.startswith("core.")}
        rest = {k: v for k, v in state.items() if not k.startswith("core.")}
        ghn.load_state_dict(rest, strict=False)
        ghn.core.load_pyg_state_dict(core)
        missing = set(ghn.state_dict()) - set(rest) - {f"core.{k}" for k in ghn.core.state_dict()}
        if missing:
            raise ValueError(f"{path} lacks weights {sorted(missing)[:5]}; it was not written by this GHN version")
        return ghn
