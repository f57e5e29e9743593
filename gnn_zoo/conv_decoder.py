"""GHN-2's decoder (reference section 6.4-6.6): a conv decoder for weights, a 1-D decoder for
norm scales and biases, the classifier heads, and GHN-2's output scaling."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .decoder import tile
from .layout import ParamSlot

HIDDEN_CHANNELS = (128, 256)  # the conv decoder's widths before the 64 x 64 channel block


def kernel_2d(shape: tuple[int, ...]) -> tuple[int, int]:
    """The trailing dims of a weight as (kh, kw): (1, 1) for Linear, (1, k) for 1-D kernels, the
    last dim against the product of the others beyond 2-D."""
    rest = shape[2:]
    if not rest:
        return 1, 1
    return math.prod(rest[:-1]), rest[-1]


def weight_gain(shape: tuple[int, ...]) -> float:
    """GHN-2's beta: 1 for depthwise (in = 1) and 1 x k (kh < kw) 4-D kernels, else 2."""
    return 1.0 if len(shape) == 4 and (shape[1] == 1 or shape[2] < shape[3]) else 2.0


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
    outputs): weights x sqrt(beta / fan_in) (see weight_gain), positional encodings unscaled,
    norm scales 2 sigmoid(p / 2), biases tanh(p / 5).
    """

    def __init__(self, hidden: int, num_classes: int, max_side: int = 11, scaling: bool = True) -> None:
        super().__init__()
        self.side, self.block, self.num_classes = max_side, 2 * hidden, num_classes  # GHN-2: block = 2 hidden
        self.scaling = scaling
        c1, c2 = HIDDEN_CHANNELS
        self.fc = nn.Linear(hidden, c1 * max_side * max_side)
        self.conv1 = nn.Conv2d(c1, c2, 1)
        self.conv2 = nn.Conv2d(c2, self.block * self.block, 1)
        self.classifier = nn.Conv2d(self.block, num_classes, 1)
        self.vector = nn.Sequential(nn.Linear(hidden, self.block), nn.ReLU(), nn.Linear(self.block, 2 * self.block))
        self.classifier_bias = nn.Linear(self.block, num_classes)

    def forward(self, h: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """One tensor per slot, in order (differentiable)."""
        return [tile(b, s.shape) for b, s in zip(self.blocks(h, slots), slots)]

    def blocks(self, h: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """One block per slot: tile(block, slot.shape) is the predicted parameter."""
        out: list[torch.Tensor | None] = [None] * len(slots)
        vectors = [i for i, s in enumerate(slots) if s.role in ("norm_weight", "vector", "classifier_bias")]
        if vectors:
            rows = self.vector(h[torch.tensor([slots[i].node for i in vectors])]).view(len(vectors), 2, self.block)
            for j, i in enumerate(vectors):
                out[i] = self.decode_vector(rows[j], slots[i].role)
        groups: dict[tuple, list[int]] = {}  # weights needing the same corner are decoded together
        for i, slot in enumerate(slots):
            if out[i] is None:
                groups.setdefault(self.corner(slot), []).append(i)
        for key, idx in groups.items():
            z = h[torch.tensor([slots[i].node for i in idx])]
            for i, value in zip(idx, self.decode_weights(z, key).unbind()):
                out[i] = self.finish(value, slots[i])
        return out

    def corner(self, slot: ParamSlot) -> tuple:
        """What a weight slot needs of the (block, block, s, s) tensor: (rows, cols, kh, kw, is classifier)."""
        kh, kw = kernel_2d(slot.shape)
        if slot.role == "classifier":
            return self.block, min(slot.shape[1], self.block), 1, 1, True
        return min(slot.shape[0], self.block), min(slot.shape[1], self.block), min(kh, self.side), min(kw, self.side), False

    def decode_weights(self, z: torch.Tensor, key: tuple) -> torch.Tensor:
        """[g, rows, cols, kh, kw] corners of the conv decoder's output for g nodes (only those
        entries are computed), or [g, classes, cols] classifier weights."""
        rows, cols, kh, kw, classifier = key
        c1, c2 = HIDDEN_CHANNELS
        s = self.side
        w_fc = self.fc.weight.view(c1, s, s, -1)[:, :kh, :kw]
        b_fc = self.fc.bias.view(c1, s, s)[:, :kh, :kw]
        a = F.relu(torch.einsum("gd,cyxd->gcyx", z, w_fc) + b_fc)
        a = F.relu(torch.einsum("gcyx,kc->gkyx", a, self.conv1.weight[:, :, 0, 0]) + self.conv1.bias[:, None, None])
        w2 = self.conv2.weight.view(self.block, self.block, c2)[:rows, :cols]
        b2 = self.conv2.bias.view(self.block, self.block)[:rows, :cols]
        w = torch.einsum("gkyx,oik->goiyx", a, w2) + b2[:, :, None, None]
        if classifier:
            w = F.relu(w[..., 0, 0])
            return torch.einsum("goi,co->gci", w, self.classifier.weight[:, :, 0, 0]) + self.classifier.bias[:, None]
        return w

    def finish(self, value: torch.Tensor, slot: ParamSlot) -> torch.Tensor:
        """A decoded corner as the block that tiles to `slot`: spatially tiled when the kernel is
        larger than s, reshaped to the slot's trailing dims, scaled."""
        if slot.role != "classifier":
            kh, kw = kernel_2d(slot.shape)
            if (kh, kw) != tuple(value.shape[2:]):
                value = value.repeat(1, 1, math.ceil(kh / value.shape[2]), math.ceil(kw / value.shape[3]))[..., :kh, :kw]
            value = value.reshape(*value.shape[:2], *slot.shape[2:])
        if slot.role == "pos_enc" or not self.scaling:
            return value
        return value * math.sqrt(weight_gain(slot.shape) / slot.fan_in)

    def decode_vector(self, rows: torch.Tensor, role: str) -> torch.Tensor:
        """A 1-D block from the node's two rows."""
        if role == "norm_weight":
            return 2 * torch.sigmoid(0.5 * rows[0]) if self.scaling else rows[0]
        bias = self.classifier_bias(F.relu(rows[1])) if role == "classifier_bias" else rows[1]
        return torch.tanh(0.2 * bias) if self.scaling else bias
