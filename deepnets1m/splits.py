"""The DeepNets-1M splits and `sample(split, index)`: architecture i of a split, as a pure function."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .predefined import PREDEFINED
from .spec import PARAMETRIC_PRIMITIVES, PRIMITIVES, ArchSpec, Step

# Parameter caps are checked on the reference configuration (CIFAR-10: 3x32x32, 10 classes),
# so an architecture never depends on the data set it is later built for.
REFERENCE_CONFIG = {"num_classes": 10, "in_channels": 3, "image_size": 32}
# Eval nets are kept out of train by construction: an architecture whose digest falls in
# residue 0 mod EVAL_RESERVE may only appear in an eval split, any other only in train.
EVAL_RESERVE = 8
WIDTHS = tuple(range(16, 129, 8))


@dataclass(frozen=True)
class SplitConfig:
    """Sampling distribution of one split."""

    size: int
    seed_id: int  # disjoint per split: architecture i draws from the stream (seed_id, i)
    cells: tuple[int, int] = (4, 18)  # inclusive range
    steps: tuple[int, int] = (1, 4)
    width_mult: int = 1
    norms: tuple[str, ...] = ("bn",)
    max_params: float = 1e7
    eval: bool = True


SPLITS: dict[str, SplitConfig] = {
    "train": SplitConfig(size=1_000_000, seed_id=1, eval=False),
    "val": SplitConfig(size=500, seed_id=2),
    "test": SplitConfig(size=500, seed_id=3),
    "ood-wide": SplitConfig(size=100, seed_id=4, width_mult=4, max_params=1e8),
    "ood-deep": SplitConfig(size=100, seed_id=5, cells=(10, 36), max_params=1e8),
    "ood-dense": SplitConfig(size=100, seed_id=6, steps=(5, 10), max_params=1e8),
    "ood-bnfree": SplitConfig(size=100, seed_id=7, norms=("ln", "none")),
    "ood-predefined": SplitConfig(size=len(PREDEFINED), seed_id=8),
}
SPLIT_NAMES = tuple(SPLITS)


def split_config(split: str) -> SplitConfig:
    """Config of `split`, with a clear error for an unknown name."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; available: {', '.join(SPLITS)}")
    return SPLITS[split]


@functools.lru_cache(maxsize=4096)
def sample(split: str, index: int) -> ArchSpec:
    """Architecture `index` of `split`: depends only on (split, index), never on other draws."""
    cfg = split_config(split)
    if not 0 <= index < cfg.size:
        raise IndexError(f"{split} has {cfg.size} architectures; index {index} is out of range")
    if split == "ood-predefined":
        return ArchSpec(predefined=list(PREDEFINED)[index])
    rng = np.random.default_rng([cfg.seed_id, index])
    while True:
        spec = draw(rng, cfg)
        if accept(spec, cfg):
            return spec


def draw(rng: np.random.Generator, cfg: SplitConfig) -> ArchSpec:
    """One candidate architecture from the split's distribution (before rejection)."""
    normal = draw_cell(rng, int(rng.integers(cfg.steps[0], cfg.steps[1] + 1)))
    reduce = draw_cell(rng, int(rng.integers(cfg.steps[0], cfg.steps[1] + 1)))
    has_msa = any(op == "msa" for step in normal + reduce for op, _ in step)
    fc_layers = int(rng.integers(1, 3))
    return ArchSpec(
        normal=normal,
        reduce=reduce,
        C=int(rng.choice(WIDTHS)) * cfg.width_mult,
        num_cells=int(rng.integers(cfg.cells[0], cfg.cells[1] + 1)),
        stem=str(rng.choice(["conv", "patch"], p=[0.8, 0.2])),
        norm=str(rng.choice(cfg.norms)),
        fc_layers=fc_layers,
        fc_dim=int(rng.choice([64, 128, 256])) if fc_layers == 2 else 0,
        pos_enc=bool(has_msa and rng.random() < 0.5),
    )


def draw_cell(rng: np.random.Generator, steps: int) -> tuple[Step, ...]:
    """Steps of a cell: each picks two distinct earlier states and an op for each; `none` ops are
    dropped, and a step whose two ops are both `none` redraws its second op."""
    cell = []
    for k in range(steps):
        inputs = rng.choice(k + 2, size=2, replace=False)
        ops = [PRIMITIVES[i] for i in rng.integers(0, len(PRIMITIVES), size=2)]
        while ops == ["none", "none"]:
            ops[1] = PRIMITIVES[int(rng.integers(0, len(PRIMITIVES)))]
        cell.append(tuple((op, int(j)) for op, j in zip(ops, inputs) if op != "none"))
    return tuple(cell)


def accept(spec: ArchSpec, cfg: SplitConfig) -> bool:
    """The rejection filters: eval/train partition, a parametric op in every cell, parameter cap."""
    if (spec.digest() % EVAL_RESERVE == 0) != cfg.eval:
        return False
    for cell in (spec.normal, spec.reduce):
        if not any(op in PARAMETRIC_PRIMITIVES for step in cell for op, _ in step):
            return False
    from .net import spec_graph

    return spec_graph(spec, **REFERENCE_CONFIG).num_params <= cfg.max_params
