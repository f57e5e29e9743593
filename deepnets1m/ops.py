"""Cell operations of DeepNets-1M (reference internals: ../shared/reference/ghn2_deepnets1m.md
sections 1.1 and 3): each nn.Module sits beside `emit`, which appends the same nodes and
parameter names to a GraphBuilder without building the module (the fast path)."""

from __future__ import annotations

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from .builder import GraphBuilder, Value
from .node_types import conv_node_type

NORMS = ("bn", "none")


def channel_gate(x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """x scaled channel-wise by `gate` [B, C]: the multiply that the graph calls a `cse` node."""
    return x * gate[:, :, None, None]


torch.fx.wrap("channel_gate")  # traced as one call, which trace.py turns into the cse node


def make_norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm with affine parameters and no running statistics (it always normalises with the
    batch's own statistics, as the reference's 'bnorm'), or nothing."""
    if kind == "bn":
        return nn.BatchNorm2d(channels, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {NORMS}")


def emit_norm(g: GraphBuilder, kind: str, x: Value, name: str, channels: int) -> Value:
    """Graph of make_norm(kind, channels) at module path `name`."""
    return x if kind == "none" else g.norm(kind, x, name, channels)


def emit_conv(
    g: GraphBuilder,
    x: Value,
    name: str,
    c_in: int,
    c_out: int,
    kernel: int | tuple[int, int],
    groups: int = 1,
    dilation: int = 1,
    bias: bool = False,
) -> Value:
    """Graph of nn.Conv2d(c_in, c_out, kernel, groups=groups, dilation=dilation, bias=bias) at `name`."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    weight = (f"{name}.weight", (c_out, c_in // groups, kh, kw))
    return g.layer(conv_node_type(groups, dilation), x, name, weight, (f"{name}.bias", (c_out,)) if bias else None)


def emit_linear(g: GraphBuilder, x: Value, name: str, c_in: int, c_out: int, bias: bool = True) -> Value:
    """Graph of nn.Linear(c_in, c_out, bias) at `name` (a conv node, as every Linear in GHN-2)."""
    return g.layer("conv", x, name, (f"{name}.weight", (c_out, c_in)), (f"{name}.bias", (c_out,)) if bias else None)


class ReLUConvNorm(nn.Module):
    """ReLU -> k x k conv (no bias) -> norm (DARTS ReLUConvBN)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, norm: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False)
        self.norm = make_norm(norm, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(F.relu(x)))

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, c_in: int, c_out: int, kernel: int, norm: str) -> Value:
        x = emit_conv(g, x, f"{name}.conv", c_in, c_out, kernel)
        return emit_norm(g, norm, x, f"{name}.norm", c_out)


class FactorizedReduce(nn.Module):
    """Halves resolution: ReLU, two 1x1 stride-2 convs (the second on the input shifted by one
    pixel) concatenated, then norm."""

    def __init__(self, c_in: int, c_out: int, norm: str) -> None:
        super().__init__()
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.norm = make_norm(norm, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # padded so odd sizes also line up
        return self.norm(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, c_in: int, c_out: int, norm: str) -> Value:
        a = emit_conv(g, x, f"{name}.conv_1", c_in, c_out // 2, 1)
        b = emit_conv(g, x, f"{name}.conv_2", c_in, c_out - c_out // 2, 1)
        return emit_norm(g, norm, g.combine("concat", [a, b], f"{name}.cat"), f"{name}.norm", c_out)


class SepConv(nn.Module):
    """DARTS separable conv: ReLU, depthwise k x k (stride s), 1x1, norm, then again at stride 1."""

    def __init__(self, channels: int, kernel: int, stride: int, norm: str) -> None:
        super().__init__()
        c, pad = channels, kernel // 2
        self.dw1 = nn.Conv2d(c, c, kernel, stride, pad, groups=c, bias=False)
        self.pw1 = nn.Conv2d(c, c, 1, bias=False)
        self.norm1 = make_norm(norm, c)
        self.dw2 = nn.Conv2d(c, c, kernel, 1, pad, groups=c, bias=False)
        self.pw2 = nn.Conv2d(c, c, 1, bias=False)
        self.norm2 = make_norm(norm, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(self.pw1(self.dw1(F.relu(x))))
        return self.norm2(self.pw2(self.dw2(F.relu(x))))

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int, kernel: int, norm: str) -> Value:
        c = channels
        for i in (1, 2):
            x = emit_conv(g, x, f"{name}.dw{i}", c, c, kernel, groups=c)
            x = emit_conv(g, x, f"{name}.pw{i}", c, c, 1)
            x = emit_norm(g, norm, x, f"{name}.norm{i}", c)
        return x


class DilConv(nn.Module):
    """DARTS dilated separable conv: ReLU, depthwise k x k with dilation 2, 1x1, norm."""

    def __init__(self, channels: int, kernel: int, stride: int, norm: str) -> None:
        super().__init__()
        c = channels
        self.dw = nn.Conv2d(c, c, kernel, stride, kernel - 1, dilation=2, groups=c, bias=False)
        self.pw = nn.Conv2d(c, c, 1, bias=False)
        self.norm = make_norm(norm, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.pw(self.dw(F.relu(x))))

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int, kernel: int, norm: str) -> Value:
        c = channels
        x = emit_conv(g, x, f"{name}.dw", c, c, kernel, groups=c, dilation=2)
        x = emit_conv(g, x, f"{name}.pw", c, c, 1)
        return emit_norm(g, norm, x, f"{name}.norm", c)


class Conv7x1(nn.Module):
    """ReLU, 1x7 conv, 7x1 conv, norm (no norm between the two convs)."""

    def __init__(self, channels: int, stride: int, norm: str) -> None:
        super().__init__()
        c = channels
        self.conv_1x7 = nn.Conv2d(c, c, (1, 7), (1, stride), (0, 3), bias=False)
        self.conv_7x1 = nn.Conv2d(c, c, (7, 1), (stride, 1), (3, 0), bias=False)
        self.norm = make_norm(norm, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv_7x1(self.conv_1x7(F.relu(x))))

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int, norm: str) -> Value:
        x = emit_conv(g, x, f"{name}.conv_1x7", channels, channels, (1, 7))
        x = emit_conv(g, x, f"{name}.conv_7x1", channels, channels, (7, 1))
        return emit_norm(g, norm, x, f"{name}.norm", channels)


class MSA(nn.Module):
    """The Transformer block of DeepNets-1M over the H x W positions: pre-LayerNorm, qkv (no bias),
    8 heads, output projection, residual; LayerNorm, FFN C -> C -> C with GELU, residual. A
    stride > 1 subsamples the output."""

    heads = 8

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        if channels % self.heads:
            raise ValueError(f"msa needs channels divisible by {self.heads} heads, got {channels}")
        c, self.stride = channels, stride
        self.ln1 = nn.LayerNorm(c)
        self.qkv = nn.Linear(c, 3 * c, bias=False)
        self.proj = nn.Linear(c, c)
        self.ln2 = nn.LayerNorm(c)
        self.ff1 = nn.Linear(c, c)
        self.ff2 = nn.Linear(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(self.ln1(tokens)).reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, h * w, c)
        tokens = tokens + self.proj(attended)
        tokens = tokens + self.ff2(F.gelu(self.ff1(self.ln2(tokens))))
        out = tokens.transpose(1, 2).reshape(b, c, h, w)
        return out[:, :, :: self.stride, :: self.stride] if self.stride > 1 else out

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int) -> Value:
        c = channels
        y = emit_linear(g, g.norm("ln", x, f"{name}.ln1", c), f"{name}.qkv", c, 3 * c, bias=False)
        y = emit_linear(g, g.add("msa", y, f"{name}.attention"), f"{name}.proj", c, c)
        x = g.combine("sum", [x, y], f"{name}.sum1")
        y = emit_linear(g, g.norm("ln", x, f"{name}.ln2", c), f"{name}.ff1", c, c)
        return g.combine("sum", [x, emit_linear(g, y, f"{name}.ff2", c, c)], f"{name}.sum2")


class CSE(nn.Module):
    """Channel squeeze-excitation: x * hardswish(fc2(relu(fc1(spatial mean of x)))), fc1 C -> C/2;
    a stride > 1 subsamples the product."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.fc1 = nn.Linear(channels, channels // 2)
        self.fc2 = nn.Linear(channels // 2, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = F.hardswish(self.fc2(F.relu(self.fc1(x.mean((2, 3))))))
        out = channel_gate(x, gate)
        return out[:, :, :: self.stride, :: self.stride] if self.stride > 1 else out

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int) -> Value:
        w = emit_linear(g, x, f"{name}.fc1", channels, channels // 2)
        w = emit_linear(g, w, f"{name}.fc2", channels // 2, channels)
        return g.add("cse", x | w, f"{name}.gate")


def make_op(op: str, channels: int, stride: int, norm: str) -> nn.Module:
    """The nn.Module of primitive `op` (never `none`, which cells drop)."""
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels, norm)
    if op == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if op.startswith("sep_conv_"):
        return SepConv(channels, int(op[-1]), stride, norm)
    if op.startswith("dil_conv_"):
        return DilConv(channels, int(op[-1]), stride, norm)
    if op == "conv_7x1_1x7":
        return Conv7x1(channels, stride, norm)
    if op.startswith("conv_"):
        return ReLUConvNorm(channels, channels, int(op[-1]), stride, norm)
    if op == "msa":
        return MSA(channels, stride)
    if op == "cse":
        return CSE(channels, stride)
    raise ValueError(f"unknown op {op!r}")


def emit_op(g: GraphBuilder, op: str, x: Value, name: str, channels: int, stride: int, norm: str) -> Value:
    """Graph of make_op(op, channels, stride, norm) at module path `name`, fed by `x`."""
    if op == "skip_connect":
        return x if stride == 1 else FactorizedReduce.emit(g, x, name, channels, channels, norm)
    if op == "max_pool_3x3":
        return g.add("max_pool", x, name)
    if op == "avg_pool_3x3":
        return g.add("avg_pool", x, name)
    if op.startswith("sep_conv_"):
        return SepConv.emit(g, x, name, channels, int(op[-1]), norm)
    if op.startswith("dil_conv_"):
        return DilConv.emit(g, x, name, channels, int(op[-1]), norm)
    if op == "conv_7x1_1x7":
        return Conv7x1.emit(g, x, name, channels, norm)
    if op.startswith("conv_"):
        return ReLUConvNorm.emit(g, x, name, channels, channels, int(op[-1]), norm)
    if op == "msa":
        return MSA.emit(g, x, name, channels)
    if op == "cse":
        return CSE.emit(g, x, name, channels)
    raise ValueError(f"unknown op {op!r}")
