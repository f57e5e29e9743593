import numpy as np
import pytest

from bench.presets import PRESETS
from bench.protocol import NO_PROTOCOL, PROTOCOL, V1, core_setting
from deepnets1m import sample, spec_graph
from gnn_zoo import available, create
from gnn_zoo.base import embedding_params
from gnn_zoo.views import needs_virtual_edges
from gnn_zoo.stack import MAX_DISTANCE


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
