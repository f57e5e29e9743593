"""GHN-2's decoder (reference section 6.4-6.6): a conv decoder for weights, a 1-D decoder for
norm scales and biases, the classifier heads, and GHN-2's output scaling."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import bias_of
from .decoder import tile
from .layout import ParamSlot

# what a decoder predicts from given weights: bump when it changes (checkpoint keys and records
# carry it). 2: positional encodings under side 11 and 3-D kernels scaled as the reference
# scales them; the conv decoder's widths 4 and 8 hidden.
DECODER_VERSION = 2
UNSCALED_SIDE = 11  # (1, C, h, ...) tensors with h >= 11 are left unscaled: positional encodings


def kernel_2d(shape: tuple[int, ...]) -> tuple[int, int]:
    """The trailing dims of a weight as (kh, kw): (1, 1) for Linear, (1, k) for 1-D kernels, the
    last dim against the product of the others beyond 2-D."""
    rest = shape[2:]
    if not rest:
        return 1, 1
    return math.prod(rest[:-1]), rest[-1]


def weight_gain(shape: tuple[int, ...]) -> float:
    """The beta of GHN-2's and GHN-3's output scaling: 1 for tensors of 3 or more dims with one
    input channel (depthwise kernels) or 4-D ones with kh < kw (1 x k kernels), else 2."""
    return 1.0 if len(shape) > 2 and (shape[1] == 1 or (len(shape) > 3 and shape[2] < shape[3])) else 2.0


def output_scale(shape: tuple[int, ...], fan_in: int) -> float:
    """GHN-2's and GHN-3's scale of a predicted weight: sqrt(beta / fan_in), 1 for (1, C, h, ...)
    tensors with h >= 11 (the reference's test for a positional encoding)."""
    if len(shape) > 2 and shape[0] == 1 and shape[2] >= UNSCALED_SIDE:
        return 1.0
    return math.sqrt(weight_gain(shape) / fan_in)


VECTOR_ROLES = ("norm_weight", "vector", "classifier_bias")  # slots decoded from the 1-D decoder


def node_index(slots: list[ParamSlot], idx: list[int], device: torch.device) -> torch.Tensor:
    """The nodes of slots `idx`, as an index tensor on `device`."""
    return torch.tensor([slots[i].node for i in idx], device=device)


Box = tuple[tuple[int, int], ...]  # (start, stop) along each leading dim of a tensor


def as_box(size: tuple[int, ...] | Box) -> Box:
    """A box from sizes (a top-left corner: dim d from 0 to n) or (start, stop) pairs."""
    return tuple(d if isinstance(d, tuple) else (0, d) for d in size)


class Windows(torch.autograd.Function):
    """Windows tensor[a0:b0, a1:b1, ...] of one tensor, as contiguous copies whose gradients are
    summed into one zero tensor of its shape. Autograd's own slicing gives each slice a full-size
    gradient, zeroed and then summed: with ~20 distinct windows of the conv decoder's 4 MB weight
    per step, that was a third of a CPU training step (no torch op slices many windows with one
    backward)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, boxes: tuple[Box, ...]) -> tuple[torch.Tensor, ...]:
        ctx.shape, ctx.boxes = tensor.shape, boxes
        return tuple(tensor[tuple(slice(*d) for d in box)].contiguous() for box in boxes)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor):
        total = None
        for box, grad in zip(ctx.boxes, grads):
            if grad is not None:
                if total is None:
                    total = grad.new_zeros(ctx.shape)
                total[tuple(slice(*d) for d in box)] += grad
        return total, None


def windows(tensor: torch.Tensor, boxes: Sequence[tuple]) -> list[torch.Tensor]:
    """tensor[a0:b0, a1:b1, ...] for each box in `boxes` (sizes stand for top-left corners), each
    distinct window copied once (Windows)."""
    boxes = [as_box(box) for box in boxes]
    unique = tuple(dict.fromkeys(boxes))
    found = dict(zip(unique, Windows.apply(tensor, unique)))
    return [found[box] for box in boxes]


class ConvDecoder(nn.Module):
    """Node embedding -> parameters, as GHN-2 predicts them.

    Weights: Linear hidden -> 128 s s and ReLU, read as a 128-channel s x s map, a 1x1 conv to 256
    and ReLU, a 1x1 conv to block x block channels: a (block, block, s, s) tensor whose top-left
    corner [:out, :in, :kh, :kw] is the weight (Linear and 1x1 weights at position (0, 0)), tiled
    by repetition to the full shape. Only the needed positions and channel pairs are computed.
    The classifier weight is the (block, in) corner through ReLU and a 1x1 conv block -> classes.
    1-D: Linear hidden -> block, ReLU, Linear -> 2 block, read as 2 rows: row 0 a norm's scale,
    row 1 any bias (a norm's, or a bias node's); the classifier bias is row 1 through ReLU and a
    Linear block -> classes. Scaling (GHN-2's `-n`; `scaling=False`, as in GHN-1, returns the raw
    outputs): weights x sqrt(beta / fan_in) (see output_scale: a positional encoding of side 11 or
    more unscaled), norm scales 2 sigmoid(p / 2), biases tanh(p / 5). The conv decoder is 4 and
    8 hidden wide (`widths`, 128 and 256 at GHN-2's hidden 32).
    """

    def __init__(
        self,
        hidden: int,
        num_classes: int,
        max_side: int = 11,
        scaling: bool = True,
        widths: tuple[int, int] | None = None,
        block: int | None = None,
        vector_width: int | None = None,
    ) -> None:
        super().__init__()
        self.side, self.num_classes = max_side, num_classes
        self.block = block or 2 * hidden  # GHN-2: block = 2 hidden
        self.scaling, self.widths = scaling, tuple(widths or (4 * hidden, 8 * hidden))
        c1, c2 = self.widths
        self.fc = nn.Linear(hidden, c1 * max_side * max_side)
        self.conv1 = nn.Conv2d(c1, c2, 1)
        self.conv2 = nn.Conv2d(c2, self.block * self.block, 1)
        self.classifier = nn.Conv2d(self.block, num_classes, 1)
        width = vector_width or self.block  # the 1-D decoder's hidden layer (GHN-2: 2 hidden, the block)
        self.vector = nn.Sequential(nn.Linear(hidden, width), nn.ReLU(), nn.Linear(width, 2 * self.block))
        self.classifier_bias = nn.Linear(self.block, num_classes)

    def forward(self, h: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """One tensor per slot, in order (differentiable)."""
        return [tile(b, s.shape) for b, s in zip(self.blocks(h, slots), slots)]

    def blocks(self, h: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """One block per slot: tile(block, slot.shape) is the predicted parameter. The work is
        batched: 1-D slots by role, weights by the corner they need (one decoder pass, one
        scaling each), so the autograd graph grows with the groups, not the slots."""
        out: list[torch.Tensor | None] = [None] * len(slots)
        by_role: dict[str, list[int]] = {}
        for i, slot in enumerate(slots):
            if slot.role in VECTOR_ROLES:
                by_role.setdefault(slot.role, []).append(i)
        if by_role:
            order = [i for idx in by_role.values() for i in idx]
            rows = self.vector(h[node_index(slots, order, h.device)]).view(len(order), 2, self.block)
            for (role, idx), part in zip(by_role.items(), rows.split([len(idx) for idx in by_role.values()])):
                for i, value in zip(idx, self.decode_vectors(part, role).unbind()):
                    out[i] = value
        groups: dict[tuple, list[int]] = {}  # weights needing the same corner are decoded together
        for i, slot in enumerate(slots):
            if out[i] is None:
                groups.setdefault(self.corner(slot), []).append(i)
        for (key, idx), weights in zip(groups.items(), self.corner_weights(list(groups))):
            w = self.decode_weights(h[node_index(slots, idx, h.device)], key, weights)
            scales = [self.scale(slots[i]) for i in idx]
            if any(scale != 1.0 for scale in scales):
                w = w * torch.tensor(scales, dtype=w.dtype, device=w.device).view(-1, *[1] * (w.dim() - 1))
            for i, value in zip(idx, w.unbind()):
                out[i] = self.fit_kernel(value, slots[i])
        done = [value for value in out if value is not None]
        assert len(done) == len(slots), "every slot is a vector or a weight"
        return done

    def corner(self, slot: ParamSlot) -> tuple:
        """What a weight slot needs of the (block, block, s, s) tensor: (rows, cols, kh, kw, is classifier)."""
        kh, kw = kernel_2d(slot.shape)
        if slot.role == "classifier":
            return self.block, min(slot.shape[1], self.block), 1, 1, True
        return (
            min(slot.shape[0], self.block),
            min(slot.shape[1], self.block),
            min(kh, self.side),
            min(kw, self.side),
            False,
        )

    def window(self, kh: int, kw: int) -> Box:
        """Where a kh x kw kernel (at most s x s) is read on the s x s map: GHN-2's top-left corner."""
        return (0, kh), (0, kw)

    def corner_weights(self, keys: list[tuple]) -> list[tuple[torch.Tensor, ...]]:
        """For each corner key, the decoder weights it reads: (fc weight, fc bias, conv2 weight, conv2
        bias) restricted to its positions (`window`) and channel pairs, as copies whose gradients
        flow back through one full-size buffer per tensor (see Windows)."""
        c1, c2 = self.widths
        s, b = self.side, self.block
        spatial = [((0, c1), *self.window(kh, kw)) for _, _, kh, kw, _ in keys]
        pairs = [(rows, cols) for rows, cols, *_ in keys]
        w_fc = windows(self.fc.weight.view(c1, s, s, -1), [(*k, (0, self.fc.in_features)) for k in spatial])
        b_fc = windows(self.fc.bias.view(c1, s, s), spatial)
        w2 = windows(self.conv2.weight.view(b, b, c2), [(*p, c2) for p in pairs])
        b2 = windows(bias_of(self.conv2).view(b, b), pairs)
        return [
            (w.reshape(-1, w.shape[-1]), bias.flatten(), w2_.reshape(-1, c2), b2_.flatten())
            for w, bias, w2_, b2_ in zip(w_fc, b_fc, w2, b2)
        ]

    def decode_weights(
        self, z: torch.Tensor, key: tuple, weights: tuple[torch.Tensor, ...] | None = None
    ) -> torch.Tensor:
        """[g, rows, cols, kh, kw] corners of the conv decoder's output for g nodes (only those
        entries are computed), or [g, classes, cols] classifier weights. `weights`: the key's
        corner_weights (gathered here when not given)."""
        rows, cols, kh, kw, classifier = key
        c1, c2 = self.widths
        w_fc, b_fc, w2, b2 = weights if weights is not None else self.corner_weights([key])[0]
        a = F.relu(F.linear(z, w_fc, b_fc).view(-1, c1, kh, kw))
        a = F.relu(
            torch.einsum("gcyx,kc->gkyx", a, self.conv1.weight.view(c2, c1)) + bias_of(self.conv1)[:, None, None]
        )
        w = torch.einsum("gkyx,pk->gpyx", a, w2) + b2[:, None, None]
        w = w.view(-1, rows, cols, kh, kw)
        if classifier:
            w = F.relu(w[..., 0, 0])
            head = self.classifier.weight.view(self.num_classes, self.block)
            return torch.einsum("goi,co->gci", w, head) + bias_of(self.classifier)[:, None]
        return w

    def fit_kernel(self, value: torch.Tensor, slot: ParamSlot) -> torch.Tensor:
        """A decoded corner as the block that tiles to `slot`: spatially tiled when the kernel is
        larger than s, reshaped to the slot's trailing dims."""
        if slot.role == "classifier":
            return value
        kh, kw = kernel_2d(slot.shape)
        if (kh, kw) != tuple(value.shape[2:]):
            value = value.repeat(1, 1, math.ceil(kh / value.shape[2]), math.ceil(kw / value.shape[3]))[..., :kh, :kw]
        return value.reshape(*value.shape[:2], *slot.shape[2:])

    def scale(self, slot: ParamSlot) -> float:
        """The output scale of a weight slot (output_scale), 1 without scaling."""
        return output_scale(slot.shape, slot.fan_in) if self.scaling else 1.0

    def decode_vectors(self, rows: torch.Tensor, role: str) -> torch.Tensor:
        """[n, block] 1-D blocks ([n, classes] for classifier biases) from n nodes' two rows."""
        if role == "norm_weight":
            return 2 * torch.sigmoid(0.5 * rows[:, 0]) if self.scaling else rows[:, 0]
        bias = self.classifier_bias(F.relu(rows[:, 1])) if role == "classifier_bias" else rows[:, 1]
        return torch.tanh(0.2 * bias) if self.scaling else bias
