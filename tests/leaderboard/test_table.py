import math

import pytest

from leaderboard.table import BASELINE, average_rank, cells, leaderboard, pivot, runs_frame, to_markdown

from .conftest import make_record


def records():
    out = []
    for seed, (a, b) in enumerate([(60.0, 40.0), (64.0, 44.0)]):
        out += [
            make_record(gnn="gat", split="val", seed=seed, mean=a),
            make_record(gnn="gcn", split="val", seed=seed, mean=b),
            make_record(gnn="gat", split="ood-deep", seed=seed, mean=b),
            make_record(gnn="gcn", split="ood-deep", seed=seed, mean=a + 10),
        ]
    return out


def test_cells_average_over_seeds_with_stderr_over_seeds():
    c = cells(runs_frame(records()))
    gat_val = c[(c["model"] == "gat/pyg") & (c["split"] == "val")].iloc[0]
    assert gat_val["mean"] == pytest.approx(62.0)
    assert gat_val["stderr"] == pytest.approx(math.sqrt(8.0) / math.sqrt(2))  # std of (60, 64) / sqrt(2)
    assert gat_val["seeds"] == 2


def test_single_seed_keeps_the_runs_stderr_and_baseline_pools_models():
    c = cells(runs_frame([make_record(gnn="gat"), make_record(gnn="gcn")]))
    assert c[c["model"] == "gat/pyg"]["stderr"].item() == 1.0
    base = c[c["model"] == BASELINE]
    assert len(base) == 1 and base["mean"].item() == 10.0  # one baseline per split/seed, not one per GNN


def test_average_rank_and_order():
    c = cells(runs_frame(records()))
    ranks = average_rank(pivot(c))
    # val: gat 62 > gcn 42 > base 10; ood-deep: gcn 72 > gat 42 > base 10
    assert ranks["gat/pyg"] == ranks["gcn/pyg"] == 1.5 and ranks[BASELINE] == 3.0
    table = leaderboard(c)
    assert list(table.columns) == ["val", "ood-deep", "avg rank", "seeds", "view", "core params"]  # canonical order
    assert table.index[-1] == BASELINE
    assert table.loc["gat/pyg", "val"] == "62.0 ± 2.0"


def test_markdown_is_a_table_with_one_row_per_model():
    md = to_markdown(leaderboard(cells(runs_frame(records()))), "digits")
    lines = [line for line in md.splitlines() if line.startswith("|")]
    assert lines[0] == "| model | val | ood-deep | avg rank | seeds | view | core params |"
    assert len(lines) == 2 + 3


def test_named_splits_get_one_column_per_net():
    """ood-predefined's ResNet-50 and ViT are reported apart, never averaged."""
    archs = [{"arch": "resnet50", "ghn": 40.0, "random_init": 10.0}, {"arch": "vit", "ghn": 12.0, "random_init": 9.0}]
    records = [{**make_record(split="ood-predefined", seed=s), "archs": archs} for s in (0, 1)]
    cell_frame = cells(runs_frame(records + [make_record(split="val")]))
    table = pivot(cell_frame)
    assert list(table.columns) == ["val", "ood-predefined:resnet50", "ood-predefined:vit"]
    assert (
        table.loc["gcn/pyg", "ood-predefined:resnet50"] == 40.0
        and table.loc["random init", "ood-predefined:vit"] == 9.0
    )
    single = leaderboard(cells(runs_frame(records[:1])))
    assert single.loc["gcn/pyg", "ood-predefined:vit"] == "12.0"  # one net, one seed: no error bar to show


def test_ghn_variants_are_rows_of_their_own():
    """The paper's three rows: GHN-2 and GHN-1 around the gated GNN, and the MLP."""
    ghn1 = {**make_record(gnn="gatedgnn", mean=40.0), "ghn": "ghn1"}
    mlp = {**make_record(gnn="mlp", mean=30.0), "ghn": "mlp"}
    rows = [make_record(gnn="gatedgnn", mean=60.0), ghn1, mlp, make_record(gnn="mlp", mean=35.0)]
    c = cells(runs_frame(rows))
    means = dict(zip(c["model"], c["mean"]))
    assert means == {
        "gatedgnn/pyg": 60.0,
        "gatedgnn/pyg (GHN-1)": 40.0,
        "mlp/pyg (paper's MLP)": 30.0,
        "mlp/pyg": 35.0,
        BASELINE: 10.0,
    }


def test_tables_never_mix_protocols():
    """A record of another protocol (or none: depth by hand, or written before protocols) gets a table of its own."""
    old = make_record(gnn="gat", mean=20.0)
    old.pop("core")
    by_hand = make_record(gnn="gcn", mean=30.0)
    by_hand["core"]["protocol"] = "none"
    c = cells(runs_frame([make_record(gnn="gat"), old, by_hand]))
    assert sorted(set(c["preset"])) == ["tiny", "tiny@none"]
    assert c[(c["preset"] == "tiny") & (c["model"] == "gat/pyg")]["mean"].item() == 50.0
