"""Comparison protocols: how each core is set up so that a table compares like with like.

Protocol `v1` (docs/gnn_zoo.md, "Protocol v1"): every core gets the same GHN shell (embeddings,
LayerNorm, decoder, output scaling) and training budget (the preset), the richest graph view it
can take (`virtual`; gatedgnn its `sweep`, which includes the virtual edges; mlp none), a depth
whose receptive field covers the median DeepNets-1M val graph (longest path ~105 hops: 3+
layers over 50-hop virtual edges, or one global sweep / attention), and the same budget of
non-embedding parameters as GHN-2's own core (8,480 at hidden 32), within +-15%, reached by the
per-core depth and width settings below, given at hidden 32 (every preset's width) and scaled
with the width elsewhere. The paper's GHN-1 and MLP rows (`--ghn ghn1|mlp`) and GHN-3
(`--ghn ghn3`: 3 layers, 8 heads up to hidden 64, FFN 4x, its own decoder) are the published
models. `--layers N` sets every core's depth by hand; such records say protocol `none`.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, field

from bench.config.schema import NO_PROTOCOL, PROTOCOL


@dataclass(frozen=True)
class CoreSetting:
    """A core's depth and extra constructor arguments under a protocol, and how they were set."""

    layers: int
    kwargs: dict = field(default_factory=dict)
    matched: str = "table"  # "table": bench/config/protocol.py's V1; "auto ...": searched for a core V1 does not list

    def at(self, hidden: int) -> CoreSetting:
        """This setting (given at hidden 32) at width `hidden`: inner widths scaled alike."""
        scaled = {
            k: max(1, round(v * hidden / BASE_WIDTH)) if k in WIDTH_ARGUMENTS else v for k, v in self.kwargs.items()
        }
        return CoreSetting(self.layers, scaled, self.matched)


BASE_WIDTH = 32
WIDTH_ARGUMENTS = ("mlp_width", "edge_dim")  # constructor arguments that are widths (scaled with hidden)
# protocol v1 at hidden 32: every core within +-15% of gatedgnn's 8,480 non-embedding parameters
V1: dict[str, CoreSetting] = {
    "gatedgnn": CoreSetting(1),  # GHN-2: T = 1 round of forward + backward sweeps (global)
    "gcn": CoreSetting(4),  # 2 relations x (32x32 + 32) per layer: 8,448
    "gin": CoreSetting(3, {"mlp_width": 21}),  # GINE MLP 32 -> 21 -> 32 per relation: 8,382
    "gat": CoreSetting(3, {"edge_dim": 8}),  # distance embedded to 8, then into the attention: 8,448
    "transformer": CoreSetting(1, {"ffn_mult": 1}),  # GHN-3's block with an FFN of 1x (4x: 12.6k a layer): 8,712
    "mlp": CoreSetting(4),  # node-wise MLPs 32 -> 32 -> 32: 8,448
}
# the published models' core depths: GHN-1 one round, the paper's MLP one MLP, GHN-3-T 3 layers
# (its FFN 4x and heads by width are the core's defaults)
PUBLISHED_VARIANTS = {"ghn1": 1, "mlp": 1, "ghn3": 3}


def core_setting(gnn: str, hidden: int, ghn: str = "ghn2", layers: int | None = None) -> tuple[CoreSetting, str]:
    """(the core's setting, the protocol it follows) for a run of `gnn` at width `hidden`."""
    if ghn in PUBLISHED_VARIANTS:
        return CoreSetting(PUBLISHED_VARIANTS[ghn]), PROTOCOL
    if layers is not None:
        return CoreSetting(layers), NO_PROTOCOL
    if gnn not in V1:
        return matched_setting(gnn, hidden), PROTOCOL
    return V1[gnn].at(hidden), PROTOCOL


BUDGET_TOLERANCE = 0.15  # protocol v1: non-embedding parameters within 15% of GHN-2's core
MAX_LAYERS = 12


WIDTH_ARG = "width"  # a plugin core's own inner width (its layers' hidden size inside, not the GHN's `hidden`)


def width_candidates(gnn: str, hidden: int) -> list[int | None]:
    """The inner widths matching searches for `gnn`: multiples of 8 up to 4 x hidden when its
    constructor takes a `width` argument, else only its default (None)."""
    from gnn_zoo.registry import core_class

    if WIDTH_ARG not in inspect.signature(core_class(gnn, "pyg").__init__).parameters:
        return [None]
    return list(range(8, 4 * hidden + 1, 8))


@functools.lru_cache(maxsize=64)
def matched_setting(gnn: str, hidden: int) -> CoreSetting:
    """Protocol v1 for a core V1 does not list (a plugin): the depth, 1 to MAX_LAYERS, and, when
    the core takes a `width` argument, the inner width (multiples of 8 up to 4 x hidden), whose
    non-embedding parameters come closest to GHN-2's core at `hidden` (its default view), as
    GraphGym's match_baseline_cfg searches (ties: fewer layers, then narrower); a ValueError
    when none is within 15%."""
    from gnn_zoo.base import embedding_params
    from gnn_zoo.registry import create

    def params(name: str, layers: int, width: int | None = None) -> int:
        core = create(name, "pyg", hidden=hidden, layers=layers, **({} if width is None else {WIDTH_ARG: width}))
        return sum(p.numel() for p in core.parameters()) - embedding_params(core)

    budget = params("gatedgnn", 1)
    counts = {(n, w): params(gnn, n, w) for n in range(1, MAX_LAYERS + 1) for w in width_candidates(gnn, hidden)}
    layers, width = min(counts, key=lambda nw: (abs(counts[nw] - budget), nw[0], nw[1] or 0))
    count = counts[layers, width]
    shape = f"{layers} layers" + ("" if width is None else f" of width {width}")
    searched = f"depth 1-{MAX_LAYERS}" + ("" if width is None else " and width")
    if abs(count - budget) > BUDGET_TOLERANCE * budget:
        raise ValueError(
            f"protocol {PROTOCOL}: no {searched} brings the {gnn} core within "
            f"{BUDGET_TOLERANCE:.0%} of GHN-2's {budget:,} non-embedding parameters (closest: {shape}, "
            f"{count:,}); add a setting to bench/config/protocol.py:V1, or pass --layers N"
        )
    kwargs = {} if width is None else {WIDTH_ARG: width}
    return CoreSetting(layers, kwargs, f"auto: {shape}, {count:,} non-embedding parameters against {budget:,}")
