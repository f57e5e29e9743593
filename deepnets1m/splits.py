"""The DeepNets-1M splits and `sample(split, index)`: architecture i of a split, as a pure function.

The draws follow the reference generator rule by rule (../shared/reference/ghn2_deepnets1m.md,
sections 1.2-1.4 and 2); docs/deepnets1m.md says where and why ours differs.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from .named import NAMED_SPLITS
from .spec import POOL_PRIMITIVES, PRIMITIVES, ArchSpec, Step

# bumped whenever sample(), the nets or their graphs change: part of cache folders, checkpoint keys
# and records, so nothing of an older generator is reused or compared (2: the reference's rules;
# 3: the BN-free draw per split, dead ops counted in the size filter and width draw)
GENERATOR_VERSION = 3
# Parameter caps are checked on the reference configuration (CIFAR-10: 3x32x32, 10 classes), and
# the ImageNet one (3x224x224, 10 classes as in the reference's filter), at C = 32, fc_dim = 256.
REFERENCE_CONFIG = {"num_classes": 10, "in_channels": 3, "image_size": 32}
IMAGENET_FILTER_CONFIG = {"num_classes": 10, "in_channels": 3, "image_size": 224}
# Eval nets are kept out of train by construction: a genotype whose digest falls in residue 0 mod
# EVAL_RESERVE may only appear in an eval split, any other only in train.
EVAL_RESERVE = 8
# Our reading of the eval width (section 2): each eval net's C is the smallest multiple of 16
# from 32 up whose CIFAR-10 parameter count reaches EVAL_MIN_PARAMS.
EVAL_MIN_PARAMS = 2.5e6
EVAL_WIDTH_STEP, EVAL_MAX_WIDTH = 16, 2048
BIG_KERNELS = frozenset({"conv_5x5", "conv_7x7"})
# the training-time width and fc draws (section 1.6)
TRAIN_WIDTHS = (32, 48, 64, 80, 96, 112, 128)
TRAIN_FC_DIMS = tuple(range(64, 513, 64))


@dataclass(frozen=True)
class SplitConfig:
    """Sampling distribution of one split (reference section 2)."""

    size: int
    seed_id: int  # disjoint per split: architecture i draws from the stream (seed_id, i)
    cells: tuple[int, int] = (4, 18)  # n_cells, inclusive range
    deep_layers: tuple[int, int] = (7, 10)  # the per-net threshold above which nets get fewer steps
    steps: tuple[int, int] = (1, 4)  # steps when n_cells <= deep_layers
    deep_steps: tuple[int, int] = (1, 2)  # steps beyond it
    max_params: float = 1e7  # filter 5, at C = 32 on CIFAR-10 and ImageNet inputs
    bn_free: bool = False  # no normalisation anywhere
    eval: bool = True  # eval nets are widened to EVAL_MIN_PARAMS; train nets keep C = 32
    widen: tuple[str, int] | None = None  # (split, factor): the first `size` nets of split at factor x C


SPLITS: dict[str, SplitConfig] = {
    "train": SplitConfig(size=1_000_000, seed_id=1, eval=False),
    "val": SplitConfig(size=500, seed_id=2),
    "test": SplitConfig(size=500, seed_id=3),
    "ood-wide": SplitConfig(size=100, seed_id=4, widen=("test", 4)),
    "ood-deep": SplitConfig(size=100, seed_id=5, cells=(10, 36), deep_layers=(18, 18), max_params=1e8),
    "ood-dense": SplitConfig(size=100, seed_id=6, steps=(2, 10), deep_steps=(2, 6), max_params=1e8),
    "ood-bnfree": SplitConfig(size=100, seed_id=7, bn_free=True),
    "ood-predefined": SplitConfig(size=len(NAMED_SPLITS["ood-predefined"]), seed_id=8),
    "ood-torchvision": SplitConfig(size=len(NAMED_SPLITS["ood-torchvision"]), seed_id=9),
}
SPLIT_NAMES = tuple(SPLITS)


def split_config(split: str) -> SplitConfig:
    """Config of `split`, with a clear error for an unknown name."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; available: {', '.join(SPLITS)}")
    return SPLITS[split]


def arch_name(split: str, index: int) -> str:
    """How a net is named in records and tables: its model name in the named splits, else split/index."""
    named = NAMED_SPLITS.get(split)
    return list(named)[index] if named else f"{split}/{index}"


@functools.lru_cache(maxsize=4096)
def sample(split: str, index: int) -> ArchSpec:
    """Architecture `index` of `split`: depends only on (split, index), never on other draws."""
    cfg = split_config(split)
    if not 0 <= index < cfg.size:
        raise IndexError(f"{split} has {cfg.size} architectures; index {index} is out of range")
    if split in NAMED_SPLITS:
        return list(NAMED_SPLITS[split].values())[index]
    if cfg.widen:
        base, factor = cfg.widen
        widened = sample(base, index)
        return dataclasses.replace(widened, C=widened.C * factor)
    rng = np.random.default_rng([cfg.seed_id, index])
    while True:
        spec = draw(rng, cfg)
        if spec is not None and accept(spec, cfg):
            return eval_width(spec) if cfg.eval else spec


def draw(rng: np.random.Generator, cfg: SplitConfig) -> ArchSpec | None:
    """One candidate net, drawn as the reference's net generator draws it (section 1.3), or None
    when filters 1-4 or 6 reject it (filter 5, the parameter cap, is `accept`'s)."""
    n_cells = int(rng.integers(cfg.cells[0], cfg.cells[1] + 1))
    deep_layers = int(rng.integers(cfg.deep_layers[0], cfg.deep_layers[1] + 1))
    lo, hi = cfg.steps if n_cells <= deep_layers else cfg.deep_steps
    steps = int(rng.integers(lo, hi + 1))
    only_pool = bool(rng.random() < 0.5)
    drop_concat = bool(rng.random() < 0.5) if steps > 1 else False
    allow_none = steps > 1
    normal = draw_cell(rng, steps, PRIMITIVES, allow_none)
    reduce = draw_cell(rng, steps, POOL_PRIMITIVES if only_pool else PRIMITIVES, allow_none)
    concat = tuple(i for i in range(steps - 1) if not drop_concat or rng.random() < 0.5) + (steps - 1,)
    if not passes_genotype_filters(normal, reduce):
        return None
    vit = any(op == "msa" for cell in (normal, reduce) for step in cell for op, _ in step)
    ks = int(rng.choice([3, 5, 7]))
    c_mult = int(rng.integers(1, 3))
    preproc = steps > 1 or c_mult == 2 or (not vit or rng.random() < 0.2)
    glob_avg = vit or n_cells > deep_layers or bool(rng.random() < 0.9)
    if cfg.bn_free:
        norm = "none"
    else:  # the reference's rule, on the split's own config: few cells (<= min + 1) and steps (<= medium)
        small = n_cells <= cfg.cells[0] + 1 and steps <= cfg.deep_steps[1]
        norm = str(rng.choice(["bn", "none"])) if small else "bn"
    stem_type = int(rng.integers(0, 2))
    stem_pool = stem_type == 0 and bool(rng.random() < 0.5)
    fc_layers = int(rng.integers(1, 3))
    live_normal, live_reduce = live_cell(normal, concat), live_cell(reduce, concat)
    if not any(live_normal[i] for i in concat) or not any(live_reduce[i] for i in concat):
        return None  # filter 6: every concatenated node is empty, the forward pass fails
    return ArchSpec(
        normal=live_normal,
        reduce=live_reduce,
        concat=concat,
        C=32,
        num_cells=n_cells,
        C_mult=c_mult,
        ks=ks,
        stem_type=stem_type,
        stem_pool=stem_pool,
        preproc=preproc,
        glob_avg=glob_avg,
        norm=norm,
        fc_layers=fc_layers,
        fc_dim=256,
        vit=vit,
        dead_normal=dead_terms(normal, live_normal),
        dead_reduce=dead_terms(reduce, live_reduce),
    )


def draw_cell(rng: np.random.Generator, steps: int, ops: tuple[str, ...], allow_none: bool) -> tuple[Step, ...]:
    """A cell genotype: node i takes a uniform pair of distinct inputs among the i + 2 earlier
    states, in random order, and a uniform op from `ops` for each (`none` only if allowed)."""
    allowed = ops if allow_none else tuple(op for op in ops if op != "none")
    cell = []
    for i in range(steps):
        inputs = rng.choice(i + 2, size=2, replace=False)
        cell.append(tuple((allowed[int(rng.integers(len(allowed)))], int(j)) for j in inputs))
    return tuple(cell)


def passes_genotype_filters(normal: tuple[Step, ...], reduce: tuple[Step, ...]) -> bool:
    """The reference's filters 1-4 on the drawn genotype (none ops included)."""
    cells = [[op for step in cell for op, _ in step] for cell in (normal, reduce)]
    every = cells[0] + cells[1]
    has_conv = any("conv" in op for op in every)
    if "cse" in every and not has_conv:  # 1: cse needs a conv somewhere
        return False
    if any(cell.count("cse") > 1 for cell in cells):  # 2: at most one cse edge per cell
        return False
    if any(sum(op in BIG_KERNELS for op in cell) > 1 for cell in cells):  # 3: at most one 5x5/7x7 conv per cell
        return False
    return has_conv or "cse" in every or "msa" in every  # 4: at least one learnable op


def live_cell(cell: tuple[Step, ...], concat: tuple[int, ...]) -> tuple[Step, ...]:
    """The cell with only what reaches its output: `none` ops, ops reading an empty node, and
    nodes neither concatenated nor read by a live node are dropped (the reference never runs them)."""
    terms: list[tuple[tuple[str, int], ...]] = []
    for step in cell:  # forward: drop none ops and ops whose input is an empty node
        terms.append(tuple((op, j) for op, j in step if op != "none" and (j < 2 or terms[j - 2])))
    alive = set(concat)
    for i in reversed(range(len(cell))):  # backward: what the output needs
        if i in alive:
            alive.update(j - 2 for _, j in terms[i] if j >= 2)
    return tuple(step if i in alive else () for i, step in enumerate(terms))


def dead_terms(drawn: tuple[Step, ...], live: tuple[Step, ...]) -> tuple[tuple[str, int], ...]:
    """The drawn (op, input) terms, `none` aside, that live_cell dropped, in drawn order."""
    dead = []
    for step, kept in zip(drawn, live):
        dead += [(op, j) for op, j in step if op != "none" and (op, j) not in kept]
    return tuple(dead)


def accept(spec: ArchSpec, cfg: SplitConfig) -> bool:
    """Filter 5 (parameter cap at C = 32 on CIFAR-10 and ImageNet inputs, dead ops counted as the
    reference counts them) and our train/eval partition."""
    if (spec.genotype_digest() % EVAL_RESERVE == 0) != cfg.eval:
        return False
    from .net import reference_params

    configs = (REFERENCE_CONFIG, IMAGENET_FILTER_CONFIG)
    return all(reference_params(spec, **config) <= cfg.max_params for config in configs)


def eval_width(spec: ArchSpec) -> ArchSpec:
    """`spec` at the smallest C (a multiple of 16, from 32) with >= EVAL_MIN_PARAMS parameters on
    CIFAR-10: our reading of how the reference sized its eval nets (section 2)."""
    from .net import count_params

    def params(c: int) -> int:
        return count_params(dataclasses.replace(spec, C=c), **REFERENCE_CONFIG)

    lo, hi = 32, EVAL_MAX_WIDTH  # parameters grow with C: bisect over the multiples of 16
    if params(lo) >= EVAL_MIN_PARAMS:
        return spec
    while hi - lo > EVAL_WIDTH_STEP:
        mid = lo + (hi - lo) // (2 * EVAL_WIDTH_STEP) * EVAL_WIDTH_STEP
        lo, hi = (lo, mid) if params(mid) >= EVAL_MIN_PARAMS else (mid, hi)
    return dataclasses.replace(spec, C=hi)


def train_width(spec: ArchSpec, rng: np.random.Generator) -> ArchSpec:
    """A train net at the width C and fc_dim drawn for one training step (section 1.6): the larger
    or deeper the net is at C = 32 (P, its CIFAR-10 parameters in millions, dead ops counted, and
    big kernels looked for among the drawn ops, as in the reference), the fewer of the
    widths 32..128 it may take; fc_dim from 64..512 (from 64..256 unless the net is small)."""
    from .net import reference_params

    p = reference_params(spec, **REFERENCE_CONFIG) / 1e6
    if p > 0.8 or not spec.glob_avg or any(op in BIG_KERNELS for op in spec.drawn_ops()) or spec.num_cells > 12:
        widths = 1
    elif p > 0.4 or spec.num_cells > 10:
        widths = 2
    elif p > 0.2 or spec.num_cells > 8:
        widths = 3
    else:
        widths = len(TRAIN_WIDTHS)
    c = int(TRAIN_WIDTHS[int(rng.integers(widths))])
    fc_dims = len(TRAIN_FC_DIMS) if widths == len(TRAIN_WIDTHS) and c <= 64 else 4
    return dataclasses.replace(spec, C=c, fc_dim=int(TRAIN_FC_DIMS[int(rng.integers(fc_dims))]))
