"""ArchSpec: a DeepNets-1M architecture (genotype + macro parameters) that round-trips through JSON."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields

# The 15 operations sampled on the edges of a cell (GHN-2's extension of the DARTS space).
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
PARAMETRIC_PRIMITIVES = frozenset(p for p in PRIMITIVES if "conv" in p and p != "skip_connect") | {"msa", "cse"}

Step = tuple[tuple[str, int], ...]  # (op, input state) pairs feeding one intermediate node


@dataclass(frozen=True)
class ArchSpec:
    """One architecture: a DeepNets-1M cell network, or a named torchvision model (`predefined`).

    A cell has `len(normal)` steps; step k sums its (op, j) terms, j indexing the states
    [cell input 0, cell input 1, step 0, ..., step k-1]; `none` terms are already dropped.
    The cell output concatenates all steps. Reduction cells (stride 2, C doubled) sit at 1/3
    and 2/3 of the depth as in DARTS.
    """

    normal: tuple[Step, ...] = ()
    reduce: tuple[Step, ...] = ()
    C: int = 0  # channels per step in the first cell
    num_cells: int = 0
    stem: str = "conv"  # "conv" (3x3 conv) or "patch" (ViT-style non-overlapping patches)
    norm: str = "bn"  # "bn", "ln" or "none"
    fc_layers: int = 1  # 1: classifier only; 2: hidden fc + ReLU + classifier
    fc_dim: int = 0  # width of the hidden fc when fc_layers == 2
    pos_enc: bool = False  # learned positional encoding added after the stem
    predefined: str | None = None  # torchvision model name for the ood-predefined split

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        """Inverse of to_json."""
        raw = json.loads(text)
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"ArchSpec JSON has unknown fields {sorted(unknown)}")
        for cell in ("normal", "reduce"):
            raw[cell] = tuple(tuple((op, int(j)) for op, j in step) for step in raw.get(cell, ()))
        return cls(**raw)

    def digest(self) -> int:
        """64-bit content hash of the architecture (used to keep eval nets out of train)."""
        return int.from_bytes(hashlib.blake2b(self.to_json().encode(), digest_size=8).digest(), "little")

    @property
    def reduction_cells(self) -> tuple[int, ...]:
        """Indices of the reduction cells."""
        return tuple(sorted({self.num_cells // 3, 2 * self.num_cells // 3}))
