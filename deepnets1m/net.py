"""build_net: ArchSpec -> nn.Module (GHN-2's macro `Network`, reference section 1.5), and
spec_graph: ArchSpec -> ArchGraph without building it."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .builder import GraphBuilder, ParamCounter, Value
from .graph import ArchGraph
from .ops import FactorizedReduce, ReLUConvNorm, emit_conv, emit_linear, emit_norm, emit_op, make_norm, make_op
from .predefined import build_predefined
from .spec import LARGE_IMAGE, ArchSpec, Step
from .trace import to_graph

STEM_MULTIPLIER = 3  # stem_type 0 on small images: 3 C channels when preproc, as in DARTS


def large(image_size: int) -> bool:
    """Whether `image_size` gets the ImageNet stems."""
    return image_size >= LARGE_IMAGE


def vit_patch(image_size: int) -> tuple[int, int]:
    """(patch side = stride, padding) of the ViT stem: 3 with padding 1 (32 px -> 11 x 11), or 16
    without padding on ImageNet-sized images (224 px -> 14 x 14)."""
    return (16, 0) if large(image_size) else (3, 1)


def conv_out(side: int, kernel: int, stride: int, pad: int) -> int:
    """Output side of a convolution or pool."""
    return (side + 2 * pad - kernel) // stride + 1


def stem_channels(spec: ArchSpec, image_size: int) -> tuple[int, int]:
    """Channels of the two states the stem hands to cell 0."""
    if spec.vit or spec.stem_type == 1:
        return spec.C, spec.C
    c = STEM_MULTIPLIER * spec.C if spec.preproc and not large(image_size) else spec.C
    return c, c


def stem_side(spec: ArchSpec, image_size: int) -> int:
    """Spatial side of the stem's last output (cell 0's input 1)."""
    if spec.vit:
        p, pad = vit_patch(image_size)
        return conv_out(image_size, p, p, pad)
    stride = 2 if large(image_size) and spec.stem_type == 1 else 4 if large(image_size) else 1
    side = conv_out(image_size, spec.ks, stride, spec.ks // 2)
    if spec.stem_type == 1:
        if large(image_size):
            side = conv_out(side, 3, 2, 1)
        return conv_out(side, 3, 2, 1)
    return conv_out(side, 3, 2, 1) if spec.stem_pool else side


class Stem(nn.Module):
    """The three stems: ViT patch conv (no norm), stem_type 0 (conv, norm, optional max-pool) and
    stem_type 1 (DARTS-ImageNet: s0 = two convs, s1 = one stride-2 conv on s0)."""

    s0: nn.Module

    def __init__(self, spec: ArchSpec, in_channels: int, image_size: int) -> None:
        super().__init__()
        c, ks, big = spec.C, spec.ks, large(image_size)
        self.two_states = not spec.vit and spec.stem_type == 1
        if spec.vit:
            p, pad = vit_patch(image_size)
            self.s0 = nn.Conv2d(in_channels, c, p, p, pad, bias=False)
        elif spec.stem_type == 0:
            c_stem = stem_channels(spec, image_size)[0]
            layers = [
                nn.Conv2d(in_channels, c_stem, ks, 4 if big else 1, ks // 2, bias=False),
                make_norm(spec.norm, c_stem),
            ]
            self.s0 = nn.Sequential(*layers, *([nn.MaxPool2d(3, 2, 1)] if spec.stem_pool else []))
        else:
            stride = 2 if big else 1
            self.s0 = nn.Sequential(
                nn.Conv2d(in_channels, c // 2, ks, stride, ks // 2, bias=False),
                make_norm(spec.norm, c // 2),
                nn.ReLU(),
                nn.Conv2d(c // 2, c, 3, stride, 1, bias=False),
                make_norm(spec.norm, c),
            )
            self.s1 = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, 2, 1, bias=False), make_norm(spec.norm, c))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.s0(x)
        if not self.two_states:
            return s0, s0
        # the reference's s1 opens with an in-place ReLU, so cell 0 in effect reads ReLU(s0)
        s0 = F.relu(s0)
        return s0, self.s1(s0)

    @staticmethod
    def emit(g: GraphBuilder, x: Value, spec: ArchSpec, in_channels: int, image_size: int) -> tuple[Value, Value]:
        c, ks = spec.C, spec.ks
        if spec.vit:
            p = vit_patch(image_size)[0]
            s0 = emit_conv(g, x, "stem.s0", in_channels, c, p)
            return s0, s0
        if spec.stem_type == 0:
            c_stem = stem_channels(spec, image_size)[0]
            s0 = emit_norm(g, spec.norm, emit_conv(g, x, "stem.s0.0", in_channels, c_stem, ks), "stem.s0.1", c_stem)
            s0 = g.add("max_pool", s0, "stem.s0.2") if spec.stem_pool else s0
            return s0, s0
        s0 = emit_norm(g, spec.norm, emit_conv(g, x, "stem.s0.0", in_channels, c // 2, ks), "stem.s0.1", c // 2)
        s0 = emit_norm(g, spec.norm, emit_conv(g, s0, "stem.s0.3", c // 2, c, 3), "stem.s0.4", c)
        return s0, emit_norm(g, spec.norm, emit_conv(g, s0, "stem.s1.1", c, c, 3), "stem.s1.2", c)


class Subsample(nn.Module):
    """Every second row and column (cell input 0 after a reduction, when there is no preproc)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::2, ::2]


class Cell(nn.Module):
    """DARTS cell: preprocess both inputs, each node sums its live ops' outputs, concatenate the
    `concat` nodes (an empty one as zeros)."""

    preprocess0: nn.Module
    preprocess1: nn.Module

    def __init__(
        self,
        spec: ArchSpec,
        steps: tuple[Step, ...],
        c_pp: int,
        c_prev: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.steps, self.concat = steps, spec.concat
        if not spec.preproc:
            self.preprocess0 = Subsample() if reduction_prev and not spec.vit else nn.Identity()
            self.preprocess1 = nn.Identity()
        else:
            self.preprocess0 = (
                FactorizedReduce(c_pp, c, spec.norm)
                if reduction_prev and not spec.vit
                else ReLUConvNorm(c_pp, c, 1, 1, spec.norm)
            )
            self.preprocess1 = ReLUConvNorm(c_prev, c, 1, 1, spec.norm)
        stride = 2 if reduction and not spec.vit else 1
        self.ops = nn.ModuleList(make_op(op, c, stride if j < 2 else 1, spec.norm) for step in steps for op, j in step)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        k = 0
        for step in self.steps:
            out = None
            for _, j in step:
                y = self.ops[k](states[j])
                out, k = (y if out is None else out + y), k + 1
            states.append(out)
        live = [states[2 + i] for i in self.concat if states[2 + i] is not None]
        if len(self.concat) == 1:
            return live[0]
        return torch.cat(
            [states[2 + i] if states[2 + i] is not None else torch.zeros_like(live[0]) for i in self.concat], dim=1
        )

    @staticmethod
    def emit(
        g: GraphBuilder,
        s0: Value,
        s1: Value,
        name: str,
        spec: ArchSpec,
        steps: tuple[Step, ...],
        c_pp: int,
        c_prev: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> Value:
        if spec.preproc:
            if reduction_prev and not spec.vit:
                s0 = FactorizedReduce.emit(g, s0, f"{name}.preprocess0", c_pp, c, spec.norm)
            else:
                s0 = ReLUConvNorm.emit(g, s0, f"{name}.preprocess0", c_pp, c, 1, spec.norm)
            s1 = ReLUConvNorm.emit(g, s1, f"{name}.preprocess1", c_prev, c, 1, spec.norm)
        states, k = [s0, s1], 0
        stride = 2 if reduction and not spec.vit else 1
        for i, step in enumerate(steps):
            terms = []
            for op, j in step:
                terms.append(emit_op(g, op, states[j], f"{name}.ops.{k}", c, stride if j < 2 else 1, spec.norm))
                k += 1
            states.append(g.combine("sum", terms, f"{name}.step{i}.sum"))
        return g.combine("concat", [states[2 + i] for i in spec.concat], f"{name}.cat")


def cell_plan(spec: ArchSpec, image_size: int) -> list[tuple[tuple[Step, ...], int, int, int, bool, bool]]:
    """(steps, C_pp, C_prev, C, reduction, reduction_prev) of every cell, in order."""
    c_pp, c_prev = stem_channels(spec, image_size)
    c, plan = spec.C, []
    reduction_prev = not spec.vit and spec.stem_type == 1  # stem 1 hands over s0 at twice s1's side
    for i in range(spec.num_cells):
        reduction = i in spec.reduction_cells
        c = c * spec.C_mult if reduction else c
        steps = spec.reduce if reduction else spec.normal
        plan.append((steps, c_pp, c_prev, c, reduction, reduction_prev))
        c_pp, c_prev, reduction_prev = c_prev, c * len(spec.concat), reduction
    return plan


def head_features(spec: ArchSpec, image_size: int) -> int:
    """Inputs of the first fc layer: the last cell's channels, times its H x W without glob_avg."""
    channels = cell_plan(spec, image_size)[-1][3] * len(spec.concat)
    if spec.glob_avg:
        return channels
    side = stem_side(spec, image_size)
    if not spec.vit:
        for _ in spec.reduction_cells:
            side = (side + 1) // 2
    return channels * side * side


class DeepNet(nn.Module):
    """A DeepNets-1M network: stem, (positional encoding), cells, glob_avg or flatten, fc head."""

    def __init__(self, spec: ArchSpec, num_classes: int, in_channels: int, image_size: int) -> None:
        super().__init__()
        self.spec = spec
        self.stem = Stem(spec, in_channels, image_size)
        side = stem_side(spec, image_size)
        self.pos_enc = nn.Parameter(torch.randn(1, spec.C, side, side)) if spec.vit else None
        self.cells = nn.ModuleList(Cell(spec, *p) for p in cell_plan(spec, image_size))
        self.pool = nn.AdaptiveAvgPool2d(1) if spec.glob_avg else nn.Identity()
        features = head_features(spec, image_size)
        self.fc = (
            nn.Sequential(nn.Linear(features, spec.fc_dim), nn.ReLU(), nn.Dropout(0.5))
            if spec.fc_layers == 2
            else nn.Identity()
        )
        self.classifier = nn.Linear(spec.fc_dim if spec.fc_layers == 2 else features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0, s1 = self.stem(x)
        if self.pos_enc is not None:
            s0 = s1 = s1 + self.pos_enc
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.fc(self.pool(s1).flatten(1)))


def build_net(spec: ArchSpec, num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> nn.Module:
    """The nn.Module of `spec` for images of `in_channels` x `image_size` x `image_size`."""
    if spec.predefined is not None:
        return build_predefined(spec.predefined, num_classes, in_channels, image_size)
    return DeepNet(spec, num_classes, in_channels, image_size)


def spec_graph(spec: ArchSpec, num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> ArchGraph:
    """The ArchGraph of build_net(spec, ...) emitted straight from the spec (no module, no tracing).

    Identical to to_graph(build_net(spec, ...)) (tested); 10-50x faster. Predefined nets are traced.
    """
    return cached_spec_graph(spec, num_classes, in_channels, image_size)  # one cache key however called


@functools.lru_cache(maxsize=64)
def cached_spec_graph(spec: ArchSpec, num_classes: int, in_channels: int, image_size: int) -> ArchGraph:
    """spec_graph, memoised on positional arguments."""
    if spec.predefined is not None:
        with torch.device("meta"):
            return to_graph(build_net(spec, num_classes, in_channels, image_size))
    g = GraphBuilder()
    emit_net(g, spec, num_classes, in_channels, image_size)
    return g.build()


def count_params(spec: ArchSpec, num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> int:
    """spec_graph(spec, ...).num_params, without building the graph (about 2x faster)."""
    if spec.predefined is not None:
        return spec_graph(spec, num_classes, in_channels, image_size).num_params
    g = ParamCounter()
    emit_net(g, spec, num_classes, in_channels, image_size)
    return g.num_params


def reference_params(spec: ArchSpec, num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> int:
    """count_params plus the parameters of the spec's dead ops, which the reference builds (and
    never runs): the count its size filter and training-width draw read."""
    g = ParamCounter()
    emit_net(g, spec, num_classes, in_channels, image_size)
    stride_in_reductions = 1 if spec.vit else 2
    for _, _, _, c, reduction, _ in cell_plan(spec, image_size):
        for k, (op, j) in enumerate(spec.dead_reduce if reduction else spec.dead_normal):
            stride = stride_in_reductions if reduction and j < 2 else 1
            emit_op(g, op, frozenset(), f"dead.{k}", c, stride, spec.norm)
    return g.num_params


def emit_net(g: GraphBuilder, spec: ArchSpec, num_classes: int, in_channels: int, image_size: int) -> None:
    """Append the nodes of build_net(spec, ...) to `g`, in execution order."""
    s0, s1 = Stem.emit(g, g.add("input", frozenset(), "x"), spec, in_channels, image_size)
    if spec.vit:
        side = stem_side(spec, image_size)
        pos = g.add("pos_enc", frozenset(), "pos_enc", (("pos_enc", (1, spec.C, side, side)),))
        s0 = s1 = g.combine("sum", [s1, pos], "pos_enc.sum")
    for i, plan in enumerate(cell_plan(spec, image_size)):
        s0, s1 = s1, Cell.emit(g, s0, s1, f"cells.{i}", spec, *plan)
    out = g.add("glob_avg", s1, "pool") if spec.glob_avg else s1
    features = head_features(spec, image_size)
    if spec.fc_layers == 2:
        out, features = emit_linear(g, out, "fc.0", features, spec.fc_dim), spec.fc_dim
    emit_linear(g, out, "classifier", features, num_classes)
