"""Cell operations of DeepNets-1M: each nn.Module sits beside `emit`, which appends the same
nodes and parameter names to a GraphBuilder without building the module (the fast path)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .builder import GraphBuilder, Value

NORMS = ("bn", "ln", "none")


def make_norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm, LayerNorm over (C, H, W) as GroupNorm(1, C), or nothing."""
    if kind == "bn":
        return nn.BatchNorm2d(channels)
    if kind == "ln":
        return nn.GroupNorm(1, channels)
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
    bias: bool = False,
    node_type: str = "conv",
) -> Value:
    """Graph of nn.Conv2d(c_in, c_out, kernel, groups=groups, bias=bias) at module path `name`."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    weight = (f"{name}.weight", (c_out, c_in // groups, kh, kw))
    return g.layer(node_type, x, name, weight, (f"{name}.bias", (c_out,)) if bias else None)


class ReLUConvNorm(nn.Module):
    """ReLU -> k x k conv -> norm (DARTS ReLUConvBN)."""

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
    """Halves resolution with two offset 1x1 stride-2 convs concatenated (DARTS), then norm."""

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
    """DARTS separable conv: (ReLU, depthwise k x k, pointwise 1x1, norm) twice."""

    ghn_node_type = "sep_conv"

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
        c, t = channels, SepConv.ghn_node_type
        for i in (1, 2):
            x = emit_conv(g, x, f"{name}.dw{i}", c, c, kernel, groups=c, node_type=t)
            x = emit_conv(g, x, f"{name}.pw{i}", c, c, 1, node_type=t)
            x = emit_norm(g, norm, x, f"{name}.norm{i}", c)
        return x


class DilConv(nn.Module):
    """DARTS dilated separable conv: ReLU, depthwise k x k with dilation 2, pointwise 1x1, norm."""

    ghn_node_type = "dil_conv"

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
        c, t = channels, DilConv.ghn_node_type
        x = emit_conv(g, x, f"{name}.dw", c, c, kernel, groups=c, node_type=t)
        x = emit_conv(g, x, f"{name}.pw", c, c, 1, node_type=t)
        return emit_norm(g, norm, x, f"{name}.norm", c)


class Conv7x1(nn.Module):
    """ReLU, 1x7 conv, 7x1 conv, norm (the factorised 7x7 of DARTS' NASNet space)."""

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


def num_heads(channels: int) -> int:
    """Attention heads of an msa op with `channels` channels."""
    return 4 if channels % 4 == 0 else 1


class MSA(nn.Module):
    """Multi-head self-attention over spatial positions (pre-LayerNorm, as in ViT blocks)."""

    ghn_node_type = "msa"

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.ln = nn.LayerNorm(channels)
        self.attn = nn.MultiheadAttention(channels, num_heads(channels), batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        b, c, h, w = x.shape
        tokens = self.ln(x.flatten(2).transpose(1, 2))
        tokens = self.attn(tokens, tokens, tokens, need_weights=False)[0]
        return tokens.transpose(1, 2).reshape(b, c, h, w)

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int) -> Value:
        x = g.norm("ln", x, f"{name}.ln", channels)
        return emit_attention(g, x, f"{name}.attn", channels)


def emit_attention(g: GraphBuilder, x: Value, name: str, dim: int) -> Value:
    """Graph of nn.MultiheadAttention(dim, ...) with packed in-projection and biases."""
    x = g.layer("msa", x, name, (f"{name}.in_proj_weight", (3 * dim, dim)), (f"{name}.in_proj_bias", (3 * dim,)))
    out = f"{name}.out_proj"
    return g.layer("msa", x, out, (f"{out}.weight", (dim, dim)), (f"{out}.bias", (dim,)))


class CSE(nn.Module):
    """Channel squeeze-and-excitation: x * sigmoid(fc2(relu(fc1(global_avg(x)))))."""

    ghn_node_type = "cse"
    reduction = 4

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        hidden = max(1, channels // self.reduction)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))

    @staticmethod
    def emit(g: GraphBuilder, x: Value, name: str, channels: int) -> Value:
        hidden, t = max(1, channels // CSE.reduction), CSE.ghn_node_type
        w = g.add("glob_avg", x, f"{name}.pool")
        w = emit_conv(g, w, f"{name}.fc1", channels, hidden, 1, bias=True, node_type=t)
        w = emit_conv(g, w, f"{name}.fc2", hidden, channels, 1, bias=True, node_type=t)
        return x | w  # the gating product is transparent: it depends on both


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
