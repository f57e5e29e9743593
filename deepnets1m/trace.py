"""to_graph: any nn.Module -> ArchGraph, by torch.fx symbolic tracing and explicit module types."""

from __future__ import annotations

import builtins
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch.fx as fx
from torch import nn

from .builder import NO_VALUE, GraphBuilder, Value, union
from .graph import ArchGraph
from .node_types import conv_node_type
from .ops import channel_gate

WEIGHTED = (nn.modules.conv._ConvNd, nn.Linear)
BATCH_NORMS = (nn.modules.batchnorm._BatchNorm,)
LAYER_NORMS = (nn.LayerNorm, nn.GroupNorm)
MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
AVG_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
ADAPTIVE_AVG_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)

SUM_OPS = {"add", "add_", "iadd", "__add__", "__iadd__", "__radd__"}
CONCAT_OPS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack"}
SHAPE_OPS = {"size", "dim", "numel", "shape", "ndim", "dtype", "device"}
# functional op -> (node type, position of weight, position of bias)
FUNCTIONAL_WEIGHTED = {
    "linear": ("conv", 1, 2),
    "conv1d": ("conv", 1, 2),
    "conv2d": ("conv", 1, 2),
    "conv3d": ("conv", 1, 2),
    "layer_norm": ("ln", 2, 3),
    "group_norm": ("ln", 2, 3),
    "batch_norm": ("bn", 3, 4),
}
FUNCTIONAL_POOLS = {
    "max_pool1d": "max_pool",
    "max_pool2d": "max_pool",
    "max_pool3d": "max_pool",
    "adaptive_max_pool1d": "max_pool",
    "adaptive_max_pool2d": "max_pool",
    "avg_pool1d": "avg_pool",
    "avg_pool2d": "avg_pool",
    "avg_pool3d": "avg_pool",
}


class GraphConstructionError(ValueError):
    """A module whose computational graph cannot be built; the message says how to fix it."""


# subclasses that keep these forwards (and change only internals, as bench.harness.kernel_crop's
# CroppedConv2d does) are leaves like the torch.nn class itself
TORCH_FORWARDS = frozenset({nn.Conv1d.forward, nn.Conv2d.forward, nn.Conv3d.forward, nn.Linear.forward})


class GraphTracer(fx.Tracer):
    """fx tracer whose leaves are torch.nn modules (and subclasses keeping their forward,
    TORCH_FORWARDS) plus any classes the caller names; the packaged Transformer encoder is traced
    along its math path (MATH_PATHS), so each layer's projections, norms and attention become
    nodes of their own."""

    def __init__(self, leaf_modules: tuple[type, ...] = ()) -> None:
        super().__init__()
        self.leaf_modules = tuple(leaf_modules)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (
            isinstance(m, self.leaf_modules)
            or super().is_leaf_module(m, module_qualified_name)
            or type(m).forward in TORCH_FORWARDS
        )

    def call_module(self, m: nn.Module, forward, args, kwargs):
        """A module call: a packaged encoder (unless named a leaf) runs its math path."""
        path = next((fn for kind, fn in MATH_PATHS.items() if type(m) is kind), None)
        if path is not None and not isinstance(m, self.leaf_modules):
            return path(m, *args, **kwargs)
        return super().call_module(m, forward, args, kwargs)


def encoder_layer_math(
    m: nn.TransformerEncoderLayer, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False
):
    """nn.TransformerEncoderLayer's math path (the one its forward takes in training, without
    the fused fast path), written with its public submodules so that fx can trace it."""

    def attention(x):
        return m.dropout1(
            m.self_attn(
                x,
                x,
                x,
                attn_mask=src_mask,
                key_padding_mask=src_key_padding_mask,
                need_weights=False,
                is_causal=is_causal,
            )[0]
        )

    def feed_forward(x):
        return m.dropout2(m.linear2(m.dropout(m.activation(m.linear1(x)))))

    x = src
    if m.norm_first:
        x = x + attention(m.norm1(x))
        return x + feed_forward(m.norm2(x))
    x = m.norm1(x + attention(x))
    return m.norm2(x + feed_forward(x))


def encoder_math(m: nn.TransformerEncoder, src, mask=None, src_key_padding_mask=None, is_causal=None):
    """nn.TransformerEncoder's math path: its layers in turn, then its optional norm."""
    x = src
    for layer in m.layers:
        x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
    return m.norm(x) if m.norm is not None else x


MATH_PATHS: dict[type, Callable[..., Any]] = {
    nn.TransformerEncoderLayer: encoder_layer_math,
    nn.TransformerEncoder: encoder_math,
}


def to_graph(module: nn.Module, leaf_modules: tuple[type, ...] = ()) -> ArchGraph:
    """Typed computational graph of `module` (traced in eval mode; every submodule's training flag
    is restored afterwards).

    Node types follow GHN-2 (reference section 5): Linear and dense convs -> conv, grouped convs
    -> sep_conv (dil_conv when dilated), BatchNorm -> bn, LayerNorm/GroupNorm -> ln, attention
    (F.scaled_dot_product_attention, or nn.MultiheadAttention between its two projections) ->
    msa, the DeepNets-1M channel gate -> cse, add -> sum, cat -> concat; nn.RNN/LSTM/GRU -> per
    layer and direction an input and a hidden transform (conv nodes), summed; nn.TransformerEncoder
    and its layers are traced along their math path (a node per projection, norm and attention
    of every layer); ops outside the
    vocabulary (activations, reshapes, other products) are transparent; free parameters used in forward (ViT's
    positional embedding and class token) become pos_enc nodes; other parametric leaves become
    `extendable` nodes. A class in `leaf_modules` is not traced into: it becomes one node.
    """
    modes = [(m, m.training) for m in module.modules()]  # restored one by one: modes may be mixed
    module.eval()
    try:
        traced = GraphTracer(leaf_modules).trace(module)
    except Exception as err:
        raise GraphConstructionError(
            f"torch.fx could not trace {type(module).__name__}: {err}\n"
            "Data-dependent control flow cannot be traced. Pass the submodule class that contains "
            "it as a leaf, e.g. to_graph(model, leaf_modules=(MyBlock,)); it then becomes one "
            "node (type 'extendable' if it has parameters)."
        ) from err
    finally:
        for m, mode in modes:
            m.training = mode
    return FxConverter(module).convert(traced)


@dataclass(frozen=True)
class ParamRef:
    """A parameter read by get_attr, not yet owned by any node."""

    name: str
    param: nn.Parameter


class FxConverter:
    """Walks an fx graph in execution order, emitting typed nodes into a GraphBuilder."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.g = GraphBuilder()
        self.params = dict(module.named_parameters(remove_duplicate=False))
        self.owned: set[int] = set()  # id() of parameters already given to a node
        self.free_param_nodes: dict[int, Value] = {}
        self.values: dict[fx.Node, Value | ParamRef] = {}

    def convert(self, traced: fx.Graph) -> ArchGraph:
        """Emit every fx node, then give parameters never used in forward isolated nodes."""
        output = None
        for node in traced.nodes:
            self.values[node] = self.visit(node)
            if node.op == "output":
                output = self.output_node(node.args[0])
        unused = [(n, p) for n, p in self.params.items() if id(p) not in self.owned]
        if unused:
            warnings.warn(
                f"{len(unused)} parameter(s) of {type(self.module).__name__} are not used in forward "
                f"({', '.join(n for n, _ in unused[:5])}...); they get isolated 'extendable' nodes",
                stacklevel=3,
            )
            for name, p in unused:
                self.emit("extendable", NO_VALUE, name, [(name, p)])
        graph = self.g.build()
        graph.output = output
        return graph

    def output_node(self, out) -> int | None:
        """The node of a model's first tensor output (a tuple's, list's or dict's first entry that
        any node computes; the model's logits, as bench scores them)."""
        items = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else (out,)
        for item in items:
            value = self.values.get(item) if isinstance(item, fx.Node) else None
            if isinstance(value, frozenset) and value:
                return max(value)
            if isinstance(item, (tuple, list, dict)):
                found = self.output_node(item)
                if found is not None:
                    return found
        return None

    def visit(self, node: fx.Node) -> Value | ParamRef:
        """Value of one fx node."""
        if node.op == "placeholder":
            return self.g.add("input", NO_VALUE, node.name)
        if node.op == "get_attr":
            p = self.params.get(str(node.target))
            return ParamRef(str(node.target), p) if p is not None else NO_VALUE
        if node.op == "call_module":
            return self.visit_module(node, self.module.get_submodule(str(node.target)))
        if node.op in ("call_function", "call_method"):
            return self.visit_function(node)
        return NO_VALUE  # output

    def visit_module(self, node: fx.Node, m: nn.Module) -> Value:
        """A leaf module call."""
        x, name = self.inputs(node), str(node.target)
        if isinstance(m, WEIGHTED):
            weight = [(f"{name}.weight", m.weight)]
            bias = (f"{name}.bias", m.bias) if m.bias is not None else None
            node_type = conv_node_type(m.groups, m.dilation) if isinstance(m, nn.modules.conv._ConvNd) else "conv"
            return self.emit(node_type, x, name, weight, bias)
        if isinstance(m, nn.MultiheadAttention):
            return self.visit_attention(x, name, m)
        if isinstance(m, nn.RNNBase):
            return self.visit_recurrent(x, name, m)
        own = [(f"{name}.{n}", p) for n, p in m.named_parameters()]
        if isinstance(m, BATCH_NORMS):
            return self.emit("bn", x, name, own)
        if isinstance(m, LAYER_NORMS):
            return self.emit("ln", x, name, own)
        if isinstance(m, MAX_POOLS):
            return self.g.add("max_pool", x, name)
        if isinstance(m, AVG_POOLS):
            return self.g.add("avg_pool", x, name)
        if isinstance(m, ADAPTIVE_AVG_POOLS):
            size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,)
            return self.g.add("glob_avg" if all(s == 1 for s in size) else "avg_pool", x, name)
        if own:
            return self.emit("extendable", x, name, own)
        return x  # parameter-free op outside the vocabulary: transparent

    def visit_attention(self, x: Value, name: str, m: nn.MultiheadAttention) -> Value:
        """nn.MultiheadAttention: in-projection (+bias), the msa node, out-projection (+bias)."""
        weights = [
            (f"{name}.{n}", getattr(m, n))
            for n in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v")
            if getattr(m, n) is not None
        ]
        bias = (f"{name}.in_proj_bias", m.in_proj_bias) if m.in_proj_bias is not None else None
        x = self.g.add("msa", self.emit("conv", x, name, weights, bias), f"{name}.attention")
        out = m.out_proj
        bias = (f"{name}.out_proj.bias", out.bias) if out.bias is not None else None
        return self.emit("conv", x, f"{name}.out_proj", [(f"{name}.out_proj.weight", out.weight)], bias)

    def visit_recurrent(self, x: Value, name: str, m: nn.RNNBase) -> Value:
        """nn.RNN/LSTM/GRU: per layer and direction, an input-to-hidden node (+bias), a
        hidden-to-hidden node (+bias) fed by it, their sum, and LSTM's projection when it has
        one; directions are concatenated and layers chained, so every layer's weights get a
        node of their own (the gates of one transform are rows of one PyTorch tensor, and
        share its node)."""
        for layer in range(m.num_layers):
            outs = []
            for suffix in ("", "_reverse")[: 2 if m.bidirectional else 1]:
                key = f"l{layer}{suffix}"

                def weight(kind: str, key: str = key) -> list:
                    p = getattr(m, f"weight_{kind}_{key}", None)
                    return [] if p is None else [(f"{name}.weight_{kind}_{key}", p)]

                def bias(kind: str, key: str = key) -> tuple | None:
                    p = getattr(m, f"bias_{kind}_{key}", None)
                    return None if p is None else (f"{name}.bias_{kind}_{key}", p)

                ih = self.emit("conv", x, f"{name}.ih_{key}", weight("ih"), bias("ih"))
                hh = self.emit("conv", ih, f"{name}.hh_{key}", weight("hh"), bias("hh"))
                out = self.g.combine("sum", [ih, hh], f"{name}.cell_{key}")
                if weight("hr"):
                    out = self.emit("conv", out, f"{name}.hr_{key}", weight("hr"))
                outs.append(out)
            x = outs[0] if len(outs) == 1 else self.g.combine("concat", outs, f"{name}.out_l{layer}")
        return x

    def visit_function(self, node: fx.Node) -> Value:
        """A function or method call."""
        op = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        if op in SHAPE_OPS or (node.target is builtins.getattr and node.args[1] in SHAPE_OPS):
            return NO_VALUE
        if op in SUM_OPS or node.target in (operator.add, operator.iadd):
            return self.g.combine("sum", self.arg_values(node.args), node.name)
        if op in CONCAT_OPS:
            return self.g.combine("concat", self.arg_values(node.args[0]), node.name)
        if op in FUNCTIONAL_WEIGHTED:
            return self.visit_functional_weighted(node, op, *FUNCTIONAL_WEIGHTED[op])
        if op == "scaled_dot_product_attention":
            return self.g.add("msa", self.inputs(node), node.name)
        if node.target is channel_gate:
            return self.g.add("cse", self.inputs(node), node.name)
        if op in FUNCTIONAL_POOLS:
            return self.g.add(FUNCTIONAL_POOLS[op], self.inputs(node), node.name)
        if op == "adaptive_avg_pool2d" or op == "adaptive_avg_pool1d":
            size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
            size = size if isinstance(size, (tuple, list)) else (size,)
            return self.g.add("glob_avg" if all(s == 1 for s in size) else "avg_pool", self.inputs(node), node.name)
        return self.inputs(node)

    def visit_functional_weighted(self, node: fx.Node, op: str, node_type: str, w_pos: int, b_pos: int) -> Value:
        """F.linear / F.conv* / F.*_norm whose weight and bias are parameters read by get_attr."""

        def arg(pos: int, key: str):
            return node.args[pos] if len(node.args) > pos else node.kwargs.get(key)

        w, b = arg(w_pos, "weight"), arg(b_pos, "bias")
        w, b = (
            self.values.get(w) if isinstance(w, fx.Node) else None,
            self.values.get(b) if isinstance(b, fx.Node) else None,
        )
        weights = [(w.name, w.param)] if isinstance(w, ParamRef) else []
        bias = (b.name, b.param) if isinstance(b, ParamRef) else None
        skip = {r for r in (w, b) if isinstance(r, ParamRef)}
        x = union(self.value_of(n) for n in node.all_input_nodes if self.values[n] not in skip)
        if node_type == "conv":
            if op.startswith("conv"):  # F.conv*(input, weight, bias, stride, padding, dilation, groups)
                node_type = conv_node_type(arg(6, "groups") or 1, arg(5, "dilation") or 1)
            return self.emit(node_type, x, node.name, weights, bias)
        return self.emit(node_type, x, node.name, weights + ([bias] if bias else []))

    def emit(self, node_type: str, x: Value, name: str, weights: list, bias: tuple | None = None) -> Value:
        """A node owning `weights` and, as a separate `bias` node, `bias`; a parameter already
        owned (a module called twice, tied weights) is not given out again."""
        weights = [(n, p) for n, p in weights if id(p) not in self.owned]
        if bias is not None and id(bias[1]) in self.owned:
            bias = None
        self.owned.update(id(p) for _, p in weights + ([bias] if bias else []))
        out = self.g.add(node_type, x, name, tuple((n, tuple(p.shape)) for n, p in weights))
        if bias is not None:
            out = self.g.add("bias", out, bias[0], ((bias[0], tuple(bias[1].shape)),))
        return out

    def inputs(self, node: fx.Node) -> Value:
        """Union of the values of all of node's inputs."""
        return union(self.value_of(n) for n in node.all_input_nodes)

    def arg_values(self, args) -> list[Value]:
        """Values of the fx nodes among `args` (a tuple or list, possibly nested)."""
        found: list[fx.Node] = []
        fx.node.map_arg(args, found.append)
        return [self.value_of(n) for n in found]

    def value_of(self, n: fx.Node) -> Value:
        """Value of fx node n; a free parameter becomes (once) a pos_enc node."""
        v = self.values[n]
        if not isinstance(v, ParamRef):
            return v
        key = id(v.param)
        if key not in self.free_param_nodes:
            if key in self.owned:
                return NO_VALUE
            self.free_param_nodes[key] = self.emit("pos_enc", NO_VALUE, v.name, [(v.name, v.param)])
        return self.free_param_nodes[key]
