import statistics

import numpy as np
import pytest

from deepnets1m import PREDEFINED, PRIMITIVES, SPLITS, sample, spec_graph
from deepnets1m.splits import EVAL_RESERVE, REFERENCE_CONFIG

N = 40


def specs(split, n=N):
    return [sample(split, i) for i in range(n)]


def test_split_sizes():
    assert SPLITS["train"].size == 1_000_000
    assert SPLITS["val"].size == SPLITS["test"].size == 500
    for split in ("ood-wide", "ood-deep", "ood-dense", "ood-bnfree"):
        assert SPLITS[split].size == 100
    assert SPLITS["ood-predefined"].size == len(PREDEFINED)


def test_seed_streams_are_disjoint():
    assert len({cfg.seed_id for cfg in SPLITS.values()}) == len(SPLITS)


def test_architecture_is_a_pure_function_of_split_and_index():
    first = [sample("train", i) for i in (0, 999_999, 12345)]
    sample.cache_clear()
    # drawing other architectures in between must not change anything
    for i in range(20):
        sample("val", i)
    again = [sample("train", i) for i in (12345, 999_999, 0)][::-1]
    assert first == again


def test_unknown_split_and_index_are_clear_errors():
    with pytest.raises(ValueError, match="unknown split 'ood-huge'.*ood-wide"):
        sample("ood-huge", 0)
    with pytest.raises(IndexError, match="val has 500 architectures"):
        sample("val", 500)


def test_deep_has_more_cells():
    train, deep = specs("train"), specs("ood-deep")
    assert statistics.mean(s.num_cells for s in deep) > statistics.mean(s.num_cells for s in train) + 5
    assert max(s.num_cells for s in deep) > 18 >= max(s.num_cells for s in train)
    assert min(s.num_cells for s in train) >= 4


def test_wide_is_wider():
    train, wide = specs("train"), specs("ood-wide")
    assert statistics.mean(s.C for s in wide) > 2.5 * statistics.mean(s.C for s in train)
    assert min(s.C for s in wide) >= 64 and max(s.C for s in train) <= 128


def test_dense_has_more_steps_per_cell():
    assert min(len(s.normal) for s in specs("ood-dense")) >= 5
    assert max(len(s.normal) for s in specs("train")) <= 4
    assert max(len(s.normal) for s in specs("ood-dense", 100)) <= 10


def test_bnfree_has_no_batchnorm():
    for s in specs("ood-bnfree"):
        assert s.norm in ("ln", "none")
        assert "bn" not in spec_graph(s).type_names()
    assert any("bn" in spec_graph(s).type_names() for s in specs("train", 5))


@pytest.mark.parametrize("split", ["train", "val", "ood-wide", "ood-deep", "ood-dense", "ood-bnfree"])
def test_parameter_caps(split):
    cap = SPLITS[split].max_params
    counts = [spec_graph(s, **REFERENCE_CONFIG).num_params for s in specs(split, 20)]
    assert max(counts) <= cap
    assert min(counts) > 0


def test_eval_nets_never_in_train():
    for split in ("val", "test", "ood-deep", "ood-bnfree"):
        assert all(s.digest() % EVAL_RESERVE == 0 for s in specs(split, 20))
    train = {sample("train", i).digest() for i in range(2000)}
    assert all(d % EVAL_RESERVE != 0 for d in train)
    assert not train & {s.digest() for s in specs("val", 100) + specs("test", 100)}


def test_ops_cover_the_design_space():
    ops = {op for s in specs("train", 200) for cell in (s.normal, s.reduce) for step in cell for op, _ in step}
    assert ops == set(PRIMITIVES) - {"none"}
    stems = {s.stem for s in specs("train", 200)}
    assert stems == {"conv", "patch"}
    assert {s.fc_layers for s in specs("train", 200)} == {1, 2}


def test_predefined_split_lists_torchvision_models():
    names = [sample("ood-predefined", i).predefined for i in range(len(PREDEFINED))]
    assert names[:2] == ["resnet50", "vit_b_16"]
    assert np.unique(names).size == len(names)
