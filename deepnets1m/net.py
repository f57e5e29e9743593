"""build_net: ArchSpec -> nn.Module, and spec_graph: ArchSpec -> ArchGraph without building it."""
from __future__ import annotations

import functools

import torch
from torch import nn

from .builder import GraphBuilder, Value
from .graph import ArchGraph
from .ops import FactorizedReduce, ReLUConvNorm, emit_conv, emit_norm, emit_op, make_norm, make_op
from .predefined import build_predefined
from .spec import ArchSpec, Step

STEM_MULTIPLIER = 3  # stem width = 3 C, as in DARTS
LARGE_IMAGE = 128  # from this input size on, the conv stem downsamples 4x (ImageNet-style)


def patch_size(image_size: int) -> int:
    """Patch side of the `patch` stem: 8x8 tokens at most on small images, 16 px on large ones."""
    return 16 if image_size >= LARGE_IMAGE else max(1, image_size // 8)


def stem_output_size(spec: ArchSpec, image_size: int) -> int:
    """Spatial side after the stem."""
    if spec.stem == "patch":
        return image_size // patch_size(image_size)
    return (image_size + 3) // 4 if image_size >= LARGE_IMAGE else image_size


class Stem(nn.Module):
    """conv: 3x3 conv + norm (two stride-2 convs for large images); patch: k = stride = patch conv."""

    def __init__(self, spec: ArchSpec, in_channels: int, image_size: int) -> None:
        super().__init__()
        c = STEM_MULTIPLIER * spec.C
        self.layers = nn.ModuleList()
        if spec.stem == "patch":
            p = patch_size(image_size)
            self.layers.append(nn.Conv2d(in_channels, c, p, stride=p))
        elif image_size >= LARGE_IMAGE:
            self.layers.extend([nn.Conv2d(in_channels, c // 2, 3, 2, 1, bias=False), make_norm(spec.norm, c // 2)])
            self.layers.extend([nn.ReLU(), nn.Conv2d(c // 2, c, 3, 2, 1, bias=False)])
        else:
            self.layers.append(nn.Conv2d(in_channels, c, 3, 1, 1, bias=False))
        self.layers.append(make_norm(spec.norm, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    @staticmethod
    def emit(g: GraphBuilder, x: Value, spec: ArchSpec, in_channels: int, image_size: int) -> Value:
        c, n = STEM_MULTIPLIER * spec.C, "stem.layers"
        if spec.stem == "patch":
            p = patch_size(image_size)
            x, last = emit_conv(g, x, f"{n}.0", in_channels, c, p, bias=True), 1
        elif image_size >= LARGE_IMAGE:
            x = emit_conv(g, x, f"{n}.0", in_channels, c // 2, 3)
            x = emit_norm(g, spec.norm, x, f"{n}.1", c // 2)
            x, last = emit_conv(g, x, f"{n}.3", c // 2, c, 3), 4
        else:
            x, last = emit_conv(g, x, f"{n}.0", in_channels, c, 3), 1
        return emit_norm(g, spec.norm, x, f"{n}.{last}", c)


class Cell(nn.Module):
    """DARTS cell: preprocess both inputs, each step sums its ops' outputs, concat all steps."""

    def __init__(
        self, steps: tuple[Step, ...], c_pp: int, c_prev: int, c: int, reduction: bool, reduction_prev: bool, norm: str
    ) -> None:
        super().__init__()
        self.steps = steps
        self.preprocess0 = FactorizedReduce(c_pp, c, norm) if reduction_prev else ReLUConvNorm(c_pp, c, 1, 1, norm)
        self.preprocess1 = ReLUConvNorm(c_prev, c, 1, 1, norm)
        self.ops = nn.ModuleList(
            make_op(op, c, 2 if reduction and j < 2 else 1, norm) for step in steps for op, j in step
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        k = 0
        for step in self.steps:
            terms = []
            for _, j in step:
                terms.append(self.ops[k](states[j]))
                k += 1
            states.append(terms[0] if len(terms) == 1 else terms[0] + terms[1])
        return torch.cat(states[2:], dim=1) if len(states) > 3 else states[2]

    @staticmethod
    def emit(
        g: GraphBuilder, s0: Value, s1: Value, name: str, steps: tuple[Step, ...], c_pp: int, c_prev: int, c: int,
        reduction: bool, reduction_prev: bool, norm: str,
    ) -> Value:
        if reduction_prev:
            s0 = FactorizedReduce.emit(g, s0, f"{name}.preprocess0", c_pp, c, norm)
        else:
            s0 = ReLUConvNorm.emit(g, s0, f"{name}.preprocess0", c_pp, c, 1, norm)
        states = [s0, ReLUConvNorm.emit(g, s1, f"{name}.preprocess1", c_prev, c, 1, norm)]
        k = 0
        for i, step in enumerate(steps):
            terms = []
            for op, j in step:
                stride = 2 if reduction and j < 2 else 1
                terms.append(emit_op(g, op, states[j], f"{name}.ops.{k}", c, stride, norm))
                k += 1
            states.append(g.combine("sum", terms, f"{name}.step{i}.sum"))
        return g.combine("concat", states[2:], f"{name}.cat")


def cell_plan(spec: ArchSpec) -> list[tuple[tuple[Step, ...], int, int, int, bool, bool]]:
    """(steps, C_pp, C_prev, C, reduction, reduction_prev) of every cell, in order."""
    c_pp = c_prev = STEM_MULTIPLIER * spec.C
    c, reduction_prev, plan = spec.C, False, []
    for i in range(spec.num_cells):
        reduction = i in spec.reduction_cells
        c = c * 2 if reduction else c
        steps = spec.reduce if reduction else spec.normal
        plan.append((steps, c_pp, c_prev, c, reduction, reduction_prev))
        c_pp, c_prev, reduction_prev = c_prev, c * len(steps), reduction
    return plan


class DeepNet(nn.Module):
    """A DeepNets-1M network: stem, (optional positional encoding), cells, global pool, fc head."""

    def __init__(self, spec: ArchSpec, num_classes: int, in_channels: int, image_size: int) -> None:
        super().__init__()
        self.spec = spec
        self.stem = Stem(spec, in_channels, image_size)
        side = stem_output_size(spec, image_size)
        c_stem = STEM_MULTIPLIER * spec.C
        self.pos_enc = nn.Parameter(torch.zeros(1, c_stem, side, side)) if spec.pos_enc else None
        plan = cell_plan(spec)
        self.cells = nn.ModuleList(Cell(*p, spec.norm) for p in plan)
        self.pool = nn.AdaptiveAvgPool2d(1)
        c_out = plan[-1][3] * len(plan[-1][0])
        self.fc_hidden = nn.Linear(c_out, spec.fc_dim) if spec.fc_layers == 2 else None
        self.classifier = nn.Linear(spec.fc_dim if self.fc_hidden is not None else c_out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        if self.pos_enc is not None:
            s = s + self.pos_enc
        s0 = s1 = s
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        out = self.pool(s1).flatten(1)
        if self.fc_hidden is not None:
            out = torch.relu(self.fc_hidden(out))
        return self.classifier(out)


def build_net(spec: ArchSpec, num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> nn.Module:
    """The nn.Module of `spec` for images of `in_channels` x `image_size` x `image_size`."""
    if spec.predefined is not None:
        return build_predefined(spec.predefined, num_classes, in_channels, image_size)
    return DeepNet(spec, num_classes, in_channels, image_size)


@functools.lru_cache(maxsize=64)
def spec_graph(spec: ArchSpec, num_classes: int = 10, in_channels: int = 3, image_size: int = 32) -> ArchGraph:
    """The ArchGraph of build_net(spec, ...) emitted straight from the spec (no module, no tracing).

    Identical to to_graph(build_net(spec, ...)) (tested); 10-50x faster. Predefined nets are traced.
    """
    if spec.predefined is not None:
        from .trace import to_graph

        return to_graph(build_net(spec, num_classes, in_channels, image_size))
    g = GraphBuilder()
    s = Stem.emit(g, g.add("input", frozenset(), "x"), spec, in_channels, image_size)
    if spec.pos_enc:
        side, c = stem_output_size(spec, image_size), STEM_MULTIPLIER * spec.C
        pos = g.add("pos_enc", frozenset(), "pos_enc", (("pos_enc", (1, c, side, side)),))
        s = g.combine("sum", [s, pos], "pos_enc.sum")
    s0 = s1 = s
    for i, plan in enumerate(cell_plan(spec)):
        s0, s1 = s1, Cell.emit(g, s0, s1, f"cells.{i}", *plan, spec.norm)
    out = g.add("glob_avg", s1, "pool")
    c_out = plan[3] * len(plan[0])
    if spec.fc_layers == 2:
        out = g.layer("conv", out, "fc_hidden", ("fc_hidden.weight", (spec.fc_dim, c_out)), ("fc_hidden.bias", (spec.fc_dim,)))
        c_out = spec.fc_dim
    g.layer("conv", out, "classifier", ("classifier.weight", (num_classes, c_out)), ("classifier.bias", (num_classes,)))
    return g.build()
