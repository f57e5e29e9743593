import numpy as np
import pytest

from bench.config.presets import PRESETS
from bench.config.protocol import NO_PROTOCOL, PROTOCOL, V1, core_setting
from deepnets1m import sample, spec_graph
from gnn_zoo import available, create
from gnn_zoo.base import embedding_params
from gnn_zoo.stack import MAX_DISTANCE
from gnn_zoo.views import needs_virtual_edges


def matched_params(name: str, hidden: int) -> int:
    """A core's parameters under protocol v1 at `hidden`, embedding tables (lookups) left out."""
    setting, _ = core_setting(name, hidden)
    core = create(name, hidden=hidden, layers=setting.layers, **setting.kwargs)
    return sum(p.numel() for p in core.parameters()) - embedding_params(core)


@pytest.mark.parametrize("hidden", sorted({p.hidden for p in PRESETS.values()}))
def test_every_core_has_a_matched_budget_at_every_presets_width(hidden):
    """Every registered core has a v1 setting, and their non-embedding parameter counts are within 15% of each other."""
    counts = {name: matched_params(name, hidden) for name in available()}
    assert max(counts.values()) <= 1.15 * min(counts.values()), counts


def test_depth_covers_the_median_val_graph():
    """A message-passing core reaches MAX_DISTANCE hops per layer over virtual edges: its depth
    covers the longest path of the median val graph; sweeps and attention are global already."""
    longest = np.median([int(spec_graph(sample("val", i)).level.max()) for i in range(20)])
    for name in available():
        setting, _ = core_setting(name, 32)
        core = create(name, hidden=32, layers=setting.layers, **setting.kwargs)
        if core.view == "virtual" and name != "transformer":
            assert setting.layers * MAX_DISTANCE >= longest, name
        assert core.view in ("virtual", "sweep", "none")  # the richest view each core can take
        assert needs_virtual_edges(core.view) or core.view == "none"


def test_published_variants_and_depth_by_hand():
    assert core_setting("gatedgnn", 32, ghn="ghn1") == (V1["gatedgnn"], PROTOCOL)  # one round, as published
    assert core_setting("mlp", 32, ghn="mlp")[0].layers == 1  # the paper's MLP: one MLP
    assert core_setting("gcn", 32, layers=2)[1] == NO_PROTOCOL
    assert core_setting("gin", 64)[0].kwargs == {"mlp_width": 42}  # widths scale with the GHN's


WIDE_CORES = """
import torch
from torch import nn

from gnn_zoo import Core


class WideCore(Core):
    name = "widecore"
    views = ("none",)

    def __init__(self, hidden, layers=1, view=None, width=100):
        super().__init__(hidden, layers, view)
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(hidden, width), nn.Linear(width, hidden))
                                  for _ in range(layers))

    def forward(self, x, batch):
        for mlp in self.mlps:
            x = x + mlp(x)
        return x


class FixedCore(WideCore):
    name = "fixedcore"

    def __init__(self, hidden, layers=1, view=None):
        super().__init__(hidden, layers, view, width=100)
"""


def test_a_plugin_with_a_width_argument_is_matched_in_depth_and_width(tmp_path):
    """A core whose default width misses GHN-2's budget at every depth is matched by searching its
    `width` too (GraphGym's match_baseline_cfg); without one, depth alone (and the error says so)."""
    from bench.config.protocol import matched_setting
    from gnn_zoo.plugins import PLUGINS, register_plugin
    from gnn_zoo.registry import CORES

    cores, plugins = {k: dict(v) for k, v in CORES.items()}, dict(PLUGINS)
    path = tmp_path / "widecores.py"
    path.write_text(WIDE_CORES)
    try:
        wide, fixed = register_plugin(f"{path}:WideCore"), register_plugin(f"{path}:FixedCore")
        setting = matched_setting(wide, 32)
        budget = 8_480
        core = create(wide, "pyg", hidden=32, layers=setting.layers, **setting.kwargs)
        count = sum(p.numel() for p in core.parameters()) - embedding_params(core)
        assert set(setting.kwargs) == {"width"} and abs(count - budget) <= 0.15 * budget
        assert setting.matched == (
            f"auto: {setting.layers} layers of width {setting.kwargs['width']}, "
            f"{count:,} non-embedding parameters against {budget:,}"
        )
        with pytest.raises(ValueError, match="no depth 1-12 brings the fixedcore core within 15%"):
            matched_setting(fixed, 32)  # 6,532 a layer: 1 layer is 23% short, 2 are 54% over
    finally:
        CORES.clear()
        CORES.update(cores)
        PLUGINS.clear()
        PLUGINS.update(plugins)
        matched_setting.cache_clear()
