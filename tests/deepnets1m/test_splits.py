import dataclasses
import statistics

import numpy as np
import pytest

from deepnets1m import PRIMITIVES, SPLITS, sample, spec_graph
from deepnets1m.predefined import NAMED_SPLITS
from deepnets1m.splits import (
    EVAL_MIN_PARAMS,
    EVAL_RESERVE,
    IMAGENET_FILTER_CONFIG,
    REFERENCE_CONFIG,
    arch_name,
    draw,
    live_cell,
    passes_genotype_filters,
    train_width,
)

N = 40


def specs(split, n=N):
    return [sample(split, i) for i in range(n)]


def test_split_sizes():
    assert SPLITS["train"].size == 1_000_000
    assert SPLITS["val"].size == SPLITS["test"].size == 500
    for split in ("ood-wide", "ood-deep", "ood-dense", "ood-bnfree"):
        assert SPLITS[split].size == 100
    assert SPLITS["ood-predefined"].size == 2 and SPLITS["ood-torchvision"].size == 5


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


def test_deep_has_more_cells_and_dense_more_steps():
    train, deep, dense = specs("train", 100), specs("ood-deep", 100), specs("ood-dense", 100)
    assert 10 <= min(s.num_cells for s in deep) and max(s.num_cells for s in deep) <= 36
    assert max(s.num_cells for s in deep) > 18 >= max(s.num_cells for s in train)
    assert min(s.num_cells for s in train) >= 4
    assert all(len(s.normal) <= 2 for s in deep if s.num_cells > 18)
    assert all(2 <= len(s.normal) <= 10 for s in dense) and max(len(s.normal) for s in dense) > 6
    assert all(len(s.normal) <= 6 for s in dense if s.num_cells > 10)
    assert max(len(s.normal) for s in train) <= 4


def test_wide_is_the_first_test_nets_at_4x_width():
    for i in range(100):
        assert sample("ood-wide", i) == dataclasses.replace(sample("test", i), C=4 * sample("test", i).C)


def test_bnfree_has_no_batchnorm_and_train_has_some_bnfree_nets():
    for s in specs("ood-bnfree"):
        assert s.norm == "none"
        types = spec_graph(s).type_names()
        assert "bn" not in types  # LayerNorm stays only inside msa blocks, as in the reference's op
        assert "ln" not in types or "msa" in types
    train = specs("train", 400)
    assert all(s.num_cells <= 5 and len(s.normal) <= 2 for s in train if s.norm == "none")
    assert any(s.norm == "none" for s in train)


@pytest.mark.parametrize("split", ["train", "val", "ood-deep", "ood-dense", "ood-bnfree"])
def test_parameter_caps_hold_at_the_stored_width(split):
    cap = SPLITS[split].max_params
    for s in specs(split, 20):
        base = dataclasses.replace(s, C=32)
        assert spec_graph(base, **REFERENCE_CONFIG).num_params <= cap
        assert spec_graph(base, **IMAGENET_FILTER_CONFIG).num_params <= cap


def test_eval_nets_are_widened_to_the_minimum_size():
    for s in specs("val", 30) + specs("ood-deep", 10):
        params = spec_graph(s).num_params
        assert params >= EVAL_MIN_PARAMS and s.C % 16 == 0
        if s.C > 32:  # the smallest such width: 16 channels less would fall short
            assert spec_graph(dataclasses.replace(s, C=s.C - 16)).num_params < EVAL_MIN_PARAMS
    assert all(s.C == 32 for s in specs("train", 50))


def test_eval_genotypes_never_in_train():
    for split in ("val", "test", "ood-deep", "ood-dense", "ood-bnfree"):
        assert all(s.genotype_digest() % EVAL_RESERVE == 0 for s in specs(split, 20))
    train = {sample("train", i).genotype_digest() for i in range(2000)}
    assert all(d % EVAL_RESERVE != 0 for d in train)
    assert not train & {s.genotype_digest() for s in specs("val", 100) + specs("test", 100)}


@pytest.mark.slow
def test_no_eval_genotype_among_the_first_100k_train_nets():
    evals = {
        sample(split, i).genotype_digest()
        for split in ("val", "test", "ood-deep", "ood-dense", "ood-bnfree")
        for i in range(SPLITS[split].size)
    }
    assert not evals & {sample("train", i).genotype_digest() for i in range(100_000)}


def test_draws_cover_the_design_space():
    train = specs("train", 300)
    ops = {op for s in train for op in s.ops()}
    assert ops == set(PRIMITIVES) - {"none"}
    assert {s.stem_type for s in train} == {0, 1} and {s.ks for s in train} == {3, 5, 7}
    assert {s.C_mult for s in train} == {1, 2} and {s.fc_layers for s in train} == {1, 2}
    assert {s.vit for s in train} == {True, False} and {s.glob_avg for s in train} == {True, False}
    assert not any(s.stem_pool for s in train if s.stem_type == 1)
    assert all(s.preproc for s in train if len(s.normal) > 1 or s.C_mult == 2)
    assert all(len(s.concat) == 1 for s in train if not s.preproc)


def test_genotype_filters():
    conv, cse, pool = ("conv_3x3", 0), ("cse", 1), ("max_pool_3x3", 0)
    assert passes_genotype_filters(((conv, cse),), ((pool, pool),))
    assert not passes_genotype_filters(((pool, cse),), ((pool, pool),))  # 1: cse without a conv
    assert not passes_genotype_filters(((conv, cse), (cse, pool)), ((pool, pool), (pool, pool)))  # 2: two cse
    big = (("conv_5x5", 0), ("conv_7x7", 1))
    assert not passes_genotype_filters((big,), ((pool, pool),))  # 3: two 5x5/7x7 convs in a cell
    assert not passes_genotype_filters(((pool, pool),), ((pool, ("none", 1)),))  # 4: nothing learnable
    assert passes_genotype_filters(((("msa", 0), pool),), ((pool, pool),))


def test_live_cell_drops_none_empty_and_dead_nodes():
    cell = (
        (("none", 0), ("none", 1)),  # node 0: empty
        (("conv_1x1", 2), ("max_pool_3x3", 1)),  # node 1: its op on the empty node 0 is dropped
        (("conv_3x3", 0), ("skip_connect", 1)),
    )  # node 2: dead unless concatenated
    assert live_cell(cell, (1,)) == ((), (("max_pool_3x3", 1),), ())
    assert live_cell(cell, (0, 1, 2))[2] == (("conv_3x3", 0), ("skip_connect", 1))


def test_no_drawn_genotype_breaks_a_filter():
    rng = np.random.default_rng(0)
    drawn = [d for d in (draw(rng, SPLITS["train"]) for _ in range(300)) if d is not None]
    assert len(drawn) > 200
    for s in drawn:
        assert sum(op == "cse" for step in s.normal for op, _ in step) <= 1
        assert any(s.normal[i] for i in s.concat) and any(s.reduce[i] for i in s.concat)


def test_train_width_draw():
    rng = np.random.default_rng(0)
    widths = {}
    for s in specs("train", 300):
        wide = train_width(s, rng)
        assert wide.genotype_digest() == s.genotype_digest() and 64 <= wide.fc_dim <= 512
        widths.setdefault(spec_graph(s).num_params > 0.8e6 or s.num_cells > 12, set()).add(wide.C)
    assert widths[True] == {32}  # large or deep nets keep C = 32
    assert widths[False] > {32, 48, 64}


def test_named_splits_report_each_net():
    assert [arch_name("ood-predefined", i) for i in range(2)] == ["resnet50", "vit"]
    assert [arch_name("ood-torchvision", i) for i in range(5)] == list(NAMED_SPLITS["ood-torchvision"])
    assert arch_name("val", 3) == "val/3"


# Section 2's per-split statistics of the reference (CIFAR-10 parameters in millions: mean,
# median, min; mean node count). Pinned within +-20% on the first 100 nets of each split.
REFERENCE_STATS = {
    "val": (3.28, 3.02, 2.50, 190.5),
    "test": (3.34, 2.96, 2.50, 185.5),
    "ood-wide": (51.6, 46.1, 38.8, 178.6),
    "ood-deep": (3.99, 3.19, 2.52, 391.2),
    "ood-dense": (3.76, 3.18, 2.53, 355.1),
    "ood-bnfree": (3.19, 2.89, 2.50, 135.1),
}


@pytest.mark.parametrize("split", list(REFERENCE_STATS))
def test_split_statistics_match_the_reference(split):
    graphs = [spec_graph(s) for s in specs(split, 100)]
    params = [g.num_params / 1e6 for g in graphs]
    ours = (
        statistics.mean(params),
        statistics.median(params),
        min(params),
        statistics.mean(g.num_nodes for g in graphs),
    )
    for name, value, ref in zip(
        ("mean params", "median params", "min params", "mean nodes"), ours, REFERENCE_STATS[split]
    ):
        assert abs(value / ref - 1) <= 0.2, (split, name, value, ref)


def test_train_shares_match_the_reference():
    """Section 1.4's marginals over train nets. The test is deterministic (sample is a pure
    function); each tolerance is 4 binomial standard errors at n = 2000, the sampling error of
    our estimate, so a share off by more is a rule that differs, not chance. `has cse` counts live
    ops: the reference's 26.6% counts drawn edges, a few of which are dead and pruned here."""
    n = 2000
    train = specs("train", n)
    shares = {
        "vit": (0.300, sum(s.vit for s in train)),
        "cse": (0.266, sum("cse" in s.ops() for s in train)),
        "bn-free": (0.035, sum(s.norm == "none" for s in train)),
        "glob_avg": (0.978, sum(s.glob_avg for s in train)),
        "preproc": (0.964, sum(s.preproc for s in train)),
        "stem_pool": (0.250, sum(s.stem_pool for s in train)),
        **{
            f"steps={k}": (p, sum(len(s.normal) == k for s in train))
            for k, p in zip((1, 2, 3, 4), (0.45, 0.42, 0.07, 0.06))
        },
    }
    for name, (p, count) in shares.items():
        assert abs(count / n - p) <= 4 * (p * (1 - p) / n) ** 0.5, (name, count / n, p)
    assert abs(statistics.mean(s.num_cells for s in train) - 11.3) <= 4 * 4.3 / n**0.5  # U{4..18}: sd 4.3


@pytest.mark.parametrize(
    "split, max_cells, max_steps, share",
    [("ood-deep", 11, 2, 0.019), ("ood-dense", 5, 6, 0.041), ("train", 5, 2, 0.035)],
)
def test_bn_free_draw_follows_each_splits_own_config(split, max_cells, max_steps, share):
    """The reference draws BN or none for nets of at most min_cells + 1 cells and medium_steps
    steps of the split's own config; its shares (re-simulated, section 1.3 table): deep 1.9%,
    dense 4.1%, train 3.5%. Before the fix ood-deep had none and ood-dense 1.0%."""
    rng, drawn = np.random.default_rng(5), []
    while len(drawn) < 3000:
        spec = draw(rng, SPLITS[split])
        if spec is not None:
            drawn.append(spec)
    free = [s for s in drawn if s.norm == "none"]
    assert all(s.num_cells <= max_cells and len(s.normal) <= max_steps for s in free)
    assert share / 2 < len(free) / len(drawn) < share * 1.6


def test_dead_ops_are_kept_and_counted_as_the_reference_counts_them():
    from deepnets1m.net import count_params, reference_params

    normal = ((("conv_3x3", 0), ("skip_connect", 1)), (("conv_1x1", 0), ("max_pool_3x3", 2)))
    cell = live_cell(normal, (0,))  # node 1 is neither concatenated nor read: dead
    spec = dataclasses.replace(
        sample("train", 0),
        normal=cell,
        reduce=cell,
        concat=(0,),
        num_cells=4,
        C=32,
        C_mult=1,
        vit=False,
        norm="bn",
        dead_normal=(("conv_1x1", 0), ("max_pool_3x3", 2)),
        dead_reduce=(),
    )
    normal_cells = spec.num_cells - len(spec.reduction_cells)
    assert reference_params(spec) - count_params(spec) == normal_cells * (32 * 32 + 2 * 32)  # 1x1 conv + BN
    assert spec.drawn_ops() == spec.ops() + ["conv_1x1", "max_pool_3x3"]
    assert type(spec).from_json(spec.to_json()) == spec
    rng, with_dead = np.random.default_rng(0), 0
    for _ in range(300):
        drawn = draw(rng, SPLITS["train"])
        if drawn is not None and (drawn.dead_normal or drawn.dead_reduce):
            with_dead += 1
            assert reference_params(drawn) > count_params(drawn) or all(
                op in ("max_pool_3x3", "avg_pool_3x3", "skip_connect")
                for op, _ in drawn.dead_normal + drawn.dead_reduce
            )
    assert with_dead > 10  # ~12% of train draws have dead ops
