"""Decoder: node embeddings -> parameter tensors of any shape, normalised as in GHN-2."""
from __future__ import annotations

import math

import torch
from torch import nn

from .layout import ParamSlot


def tile(block: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A new tensor of `shape`: `block` repeated along its first two dims (or its only dim) and
    sliced; trailing dims of `block` are reshaped to shape[2:]."""
    if block.dim() == 1:
        size = math.prod(shape)
        return block.repeat(math.ceil(size / block.numel()))[:size].reshape(shape)
    reps = (math.ceil(shape[0] / block.shape[0]), math.ceil(shape[1] / block.shape[1])) + (1,) * (block.dim() - 2)
    return block.repeat(reps)[: shape[0], : shape[1]].reshape(shape)


def tile_into(dst: torch.Tensor, block: torch.Tensor) -> None:
    """Write tile(block, dst.shape) into `dst` without allocating it (at most four copies)."""
    if block.dim() == 1:
        flat, b = dst.view(-1), block.numel()
        q = flat.numel() // b
        flat[: q * b].view(q, b).copy_(block)
        flat[q * b :].copy_(block[: flat.numel() - q * b])
        return
    dst = dst.view(dst.shape[0], dst.shape[1], *block.shape[2:])
    (bo, bi), (o, i) = block.shape[:2], dst.shape[:2]
    fo, fi = o - o % bo, i - i % bi
    dst[:fo, :fi].unflatten(1, (fi // bi, bi)).unflatten(0, (fo // bo, bo)).copy_(block[None, :, None])
    dst[:fo, fi:].unflatten(0, (fo // bo, bo)).copy_(block[None, :, : i - fi])
    dst[fo:, :fi].unflatten(1, (fi // bi, bi)).copy_(block[: o - fo, None])
    dst[fo:, fi:].copy_(block[: o - fo, : i - fi])


def by_shape(slots: list[ParamSlot]) -> dict[tuple[int, ...], list[int]]:
    """Positions of the slots of each distinct shape (decoded together)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, slot in enumerate(slots):
        groups.setdefault(slot.shape, []).append(i)
    return groups


class Decoder(nn.Module):
    """Predicts a small block per parameter, already normalised, that tiles to its shape.

    A weight of shape (out, in, *k) comes from a (block, block) channel block per basis kernel,
    mixed with `basis` spatial kernels of side `kernel` (center-cropped to k, or tiled along a
    flattened k when k does not fit); 1-D parameters from a block-long vector. The classifier
    (num_classes rows) and its bias have heads of their own, since their rows must differ: a
    learned embedding per class times a node-dependent (rank x block) matrix, resp. vector.
    Normalisation (GHN-2): weights x sqrt(2 / fan_in) (x sqrt(1 / fan_in) for the classifier),
    norm scales 2 sigmoid(.), biases and other vectors tanh(.).
    """

    def __init__(self, hidden: int, num_classes: int, block: int = 64, kernel: int = 7, basis: int = 4,
                 class_rank: int = 16) -> None:
        super().__init__()
        self.block, self.kernel, self.basis, self.num_classes = block, kernel, basis, num_classes
        width = 2 * hidden
        self.trunk = nn.Sequential(nn.Linear(hidden, width), nn.ReLU())
        self.channels = nn.Linear(width, basis * block * block)
        self.spatial = nn.Linear(width, basis * kernel * kernel)
        self.vector = nn.Linear(width, block)
        self.norm_weight = nn.Linear(width, block)
        self.class_embed = nn.Parameter(torch.randn(num_classes, class_rank) / math.sqrt(class_rank))
        self.classifier = nn.Linear(width, class_rank * block)
        self.classifier_bias = nn.Linear(width, class_rank)

    def forward(self, h: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """One tensor per slot, in order (differentiable)."""
        return [tile(b, s.shape) for b, s in zip(self.blocks(h, slots), slots)]

    def blocks(self, h: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """One block per slot: tile(block, slot.shape) is the predicted parameter."""
        z = self.trunk(h)
        out: list[torch.Tensor | None] = [None] * len(slots)
        by_role: dict[str, list[int]] = {}
        for i, s in enumerate(slots):
            by_role.setdefault(s.role, []).append(i)
        for role, idx in by_role.items():
            zs = z[torch.tensor([slots[i].node for i in idx])]
            for i, value in zip(idx, getattr(self, f"decode_{role}")(zs, [slots[i] for i in idx])):
                out[i] = value
        return out

    def decode_weight(self, z: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """Conv, linear, attention and other >= 2-D weights, one batch per distinct shape."""
        b, k, s = self.block, self.kernel, self.basis
        channels = self.channels(z).view(-1, s, b, b)
        spatial = self.spatial(z).view(-1, s, k, k)
        out: list[torch.Tensor] = [None] * len(slots)
        for shape, pos in by_shape(slots).items():
            idx = torch.tensor(pos)
            c, sp, rest = channels[idx], spatial[idx], shape[2:]
            c = c * math.sqrt(2.0 / slots[pos[0]].fan_in)
            if not rest:
                w = torch.einsum("gsoi,gs->goi", c, sp[:, :, k // 2, k // 2])
            elif len(rest) == 2 and rest[0] <= k and rest[1] <= k:
                y, x = (k - rest[0]) // 2, (k - rest[1]) // 2
                w = torch.einsum("gsoi,gshw->goihw", c, sp[:, :, y : y + rest[0], x : x + rest[1]])
            else:
                size = math.prod(rest)
                flat = sp.flatten(2).repeat(1, 1, math.ceil(size / (k * k)))[:, :, :size]
                w = torch.einsum("gsoi,gsp->goip", c, flat)
            for j, value in zip(pos, w.unbind()):
                out[j] = value
        return out

    def decode_classifier(self, z: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """The classification layer's weight (num_classes, in)."""
        blocks = self.class_embed @ self.classifier(z).view(len(slots), -1, self.block)
        return [w * math.sqrt(1.0 / s.fan_in) for w, s in zip(blocks, slots)]

    def decode_classifier_bias(self, z: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """The classification layer's bias (num_classes,)."""
        return list(torch.tanh(self.classifier_bias(z) @ self.class_embed.t()))

    def decode_norm_weight(self, z: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """Scales of BatchNorm/LayerNorm: 2 sigmoid, so 1 at zero."""
        return list(2 * torch.sigmoid(self.norm_weight(z)))

    def decode_vector(self, z: torch.Tensor, slots: list[ParamSlot]) -> list[torch.Tensor]:
        """Biases and any other 1-D (or 0-D) parameter."""
        return list(torch.tanh(self.vector(z)))
