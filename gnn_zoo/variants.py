"""The GHN variants: GHN-2's switch table (reference section 6: GHN-2, GHN-1 and the MLP) and
GHN-3 as published (its transformer core, decoder and initialisation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """What a variant changes around the core: LayerNorm, output scaling, virtual edges, meta-batch,
    the decoder; and the core a published model implies."""

    name: str
    layernorm: bool
    scaling: bool  # GHN-2's `-n` output scaling (ConvDecoder)
    max_hops: int | None  # virtual-edge range the variant forces (GHN-1: 1, i.e. none); None: the preset's
    meta_batch: int | None  # meta-batch the variant forces (GHN-1: 1); None: the preset's
    core: str | None = None  # the core the variant implies (mlp, GHN-3's transformer); None: the one asked for
    decoder: str = "ghn2"  # the GHN's decoder and its init (gnn_zoo.GHN: ghn2 or ghn3)


VARIANTS: dict[str, Variant] = {
    "ghn2": Variant("ghn2", layernorm=True, scaling=True, max_hops=None, meta_batch=None),
    "ghn1": Variant("ghn1", layernorm=False, scaling=False, max_hops=1, meta_batch=1),
    # the paper's MLP row: GHN-2's shell (m, scaling, LN) around one node-wise MLP instead of a GNN
    "mlp": Variant("mlp", layernorm=True, scaling=True, max_hops=None, meta_batch=None, core="mlp"),
    # GHN-3 (Knyazev et al., 2023) as published: the Graphormer core (3 layers as GHN-3-T, FFN 4x,
    # 8 heads up to hidden 64), ConvDecoder3 and GHN-3's init, around GHN-2's embeddings and LayerNorm
    "ghn3": Variant(
        "ghn3", layernorm=True, scaling=True, max_hops=None, meta_batch=None, core="transformer", decoder="ghn3"
    ),
}


def resolve_variant(ghn: str, gnn: str | None) -> tuple[str, str]:
    """(variant, core) of `--ghn ghn --gnn gnn`: `mlp` implies the mlp core (the paper's one-MLP
    model; `--ghn ghn2 --gnn mlp` is the mlp core at protocol v1's budget, another model);
    ValueError for an unknown or clashing pair."""
    if ghn not in VARIANTS:
        raise ValueError(f"--ghn: unknown variant {ghn!r}; choose from {', '.join(VARIANTS)}")
    implied = VARIANTS[ghn].core
    if implied is not None:
        if gnn not in (None, implied):
            model = "GHN-3 as published, with its own" if ghn == "ghn3" else "GHN-2's shell around the paper's"
            raise ValueError(
                f"--ghn {ghn} is {model} {implied}; drop --gnn {gnn} (or pass --gnn {implied}; the "
                f"{implied} core under protocol v1 is --ghn ghn2 --gnn {implied})"
            )
        return ghn, implied
    if gnn is None:
        raise ValueError(f"--gnn is required with --ghn {ghn}: name the GNN core")
    return ghn, gnn
