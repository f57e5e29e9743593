"""ArchSpec: a DeepNets-1M architecture (genotype + macro parameters) that round-trips through JSON."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, fields

# The 15 operations sampled on the edges of a cell (GHN-2's extension of the DARTS space), in the
# reference's index order.
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "conv_1x1",
    "conv_7x1_1x7",
    "conv_3x3",
    "conv_5x5",
    "conv_7x7",
    "msa",
    "cse",
)
LARGE_IMAGE = 128  # from this input side on, nets take ImageNet-style stems (and torchvision nets stay unadjusted)
POOL_PRIMITIVES: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect")  # only_pool reductions

Step = tuple[tuple[str, int], ...]  # the live (op, input state) terms summed into one intermediate node


@dataclass(frozen=True)
class ArchSpec:
    """One architecture: a DeepNets-1M cell network (GHN-2's `Network`), or a named model.

    A cell has `len(normal)` intermediate nodes (== len(reduce)); node k sums its live (op, j)
    terms, j indexing the states [cell input 0, cell input 1, node 0, ..., node k-1]. `none` ops,
    ops reading an empty node and dead nodes (neither concatenated nor read later) are already
    dropped, so a node with no terms is empty (it concatenates as zeros). Both cells concatenate
    the nodes in `concat`. Reduction cells sit at num_cells // 3 and 2 * num_cells // 3 and
    multiply the width by `C_mult`. `vit` nets (an msa edge in the drawn genotype) have the patch
    stem and positional encoding and never stride inside cells.
    """

    normal: tuple[Step, ...] = ()
    reduce: tuple[Step, ...] = ()
    concat: tuple[int, ...] = (0,)
    C: int = 32  # channels per node in the first cell
    num_cells: int = 4
    C_mult: int = 1  # width multiplier at each of the two reductions (1 or 2)
    ks: int = 3  # kernel of the first stem conv (3, 5 or 7)
    stem_type: int = 0  # 0: one conv (+ optional max-pool); 1: the two-conv DARTS-ImageNet stem
    stem_pool: bool = False  # stem_type 0 only: 3x3 stride-2 max-pool after the stem
    preproc: bool = True  # ReLU-1x1conv-norm (or FactorizedReduce) on both cell inputs
    glob_avg: bool = True  # global average pool before the head, else flatten
    norm: str = "bn"  # "bn" (batch statistics, no running stats) or "none"
    fc_layers: int = 1  # 1: classifier only; 2: Linear(fc_dim) + ReLU + Dropout(0.5) + classifier
    fc_dim: int = 256
    vit: bool = False
    predefined: str | None = None  # a named model of the ood-predefined / ood-torchvision splits
    # drawn (op, input) terms of each cell that never reach its output: not built, but the
    # reference builds them and counts their parameters in its size filter and width draw
    dead_normal: tuple[tuple[str, int], ...] = ()
    dead_reduce: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces; empty dead-op lists left out)."""
        raw = {k: v for k, v in asdict(self).items() if not (k.startswith("dead_") and not v)}
        return json.dumps(raw, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        """Inverse of to_json."""
        raw = json.loads(text)
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"ArchSpec JSON has unknown fields {sorted(unknown)}")
        for cell in ("normal", "reduce"):
            raw[cell] = tuple(tuple((op, int(j)) for op, j in step) for step in raw.get(cell, ()))
        for dead in ("dead_normal", "dead_reduce"):
            raw[dead] = tuple((op, int(j)) for op, j in raw.get(dead, ()))
        raw["concat"] = tuple(raw.get("concat", (0,)))
        return cls(**raw)

    def digest(self) -> int:
        """64-bit content hash of the architecture."""
        return int.from_bytes(hashlib.blake2b(self.to_json().encode(), digest_size=8).digest(), "little")

    def genotype_digest(self) -> int:
        """digest() of the architecture at the stored width (C=32, fc_dim=256): what is the same for
        a train net at any drawn width and an eval net at its own width."""
        return dataclasses.replace(self, C=32, fc_dim=256).digest()

    @property
    def reduction_cells(self) -> tuple[int, ...]:
        """Indices of the reduction cells."""
        return tuple(sorted({self.num_cells // 3, 2 * self.num_cells // 3}))

    def ops(self) -> list[str]:
        """The live ops of both cells."""
        return [op for cell in (self.normal, self.reduce) for step in cell for op, _ in step]

    def drawn_ops(self) -> list[str]:
        """Every drawn op of both cells but `none`: the live ones and the dead ones."""
        return self.ops() + [op for op, _ in self.dead_normal + self.dead_reduce]
