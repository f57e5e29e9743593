"""Tiling a decoded block to a parameter's full shape (GHN-2 repeats it along out and in channels)."""

from __future__ import annotations

import math

import torch


def tile(block: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A new tensor of `shape`: `block` repeated along its first two dims (or its only dim) and
    sliced; trailing dims of `block` are reshaped to shape[2:]."""
    if tuple(block.shape[:2]) == tuple(shape[:2]) and block.numel() == math.prod(shape):
        return block.reshape(shape)  # nothing to tile: no copy, no autograd nodes beyond a view
    if block.dim() == 1:
        size = math.prod(shape)
        times = math.ceil(size / block.numel())
        return (block.repeat(times) if times > 1 else block)[:size].reshape(shape)
    reps = (math.ceil(shape[0] / block.shape[0]), math.ceil(shape[1] / block.shape[1])) + (1,) * (block.dim() - 2)
    if reps[:2] != (1, 1):  # a block at least as large as the parameter is sliced, not copied (nor its gradient summed)
        block = block.repeat(reps)
    return block[: shape[0], : shape[1]].reshape(shape)


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
