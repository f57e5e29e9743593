"""Convolutions whose kernels overhang a small input, run without the taps that only ever meet
zero padding.

DeepNets-1M's nets are designed for 32x32 images; on 8x8 digits their later stages see 3x3 or
2x2 maps, where a 7x7 kernel padded by 3 multiplies zeros with 24 of its 49 taps at every output
(and a 3x3 kernel dilated by 2 on a 2x2 map uses only its centre). Cutting those taps, with the
padding shrunk to match, computes the same sums over the same nonzero terms (results differ from
the full kernel's by float summation order only) in a fraction of the arithmetic; the weight's
gradient is the same too (zero on the cut taps, which only ever met zeros). Hand-written because
neither torch nor oneDNN skip a kernel's all-padding taps.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn


@lru_cache(maxsize=4096)
def used_taps(size: int, kernel: int, stride: int, padding: int, dilation: int) -> tuple[int, int, int] | None:
    """(first tap, last tap, new padding) of one axis when the taps outside [first, last] meet
    only padding at every output and cutting them keeps the padding symmetric and the output
    size; None when there is nothing to cut (or the cut would change either)."""
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    used = [
        t
        for t in range(kernel)
        if dilation * t - padding <= size - 1 and (out - 1) * stride + dilation * t - padding >= 0
    ]
    if not used or (used[0] == 0 and used[-1] == kernel - 1):
        return None
    first, last = used[0], used[-1]
    left, right = padding - dilation * first, padding - dilation * (kernel - 1 - last)
    if left != right or left < 0 or (size + 2 * left - dilation * (last - first) - 1) // stride + 1 != out:
        return None
    return first, last, left


class CroppedConv2d(nn.Conv2d):
    """nn.Conv2d that cuts the kernel taps its input's size leaves on padding only (see the module)."""

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if self.padding_mode != "zeros" or isinstance(self.padding, str):
            return super()._conv_forward(input, weight, bias)
        rows = used_taps(input.shape[-2], weight.shape[-2], self.stride[0], self.padding[0], self.dilation[0])
        cols = used_taps(input.shape[-1], weight.shape[-1], self.stride[1], self.padding[1], self.dilation[1])
        if rows is None and cols is None:
            return super()._conv_forward(input, weight, bias)
        r0, r1, pr = rows or (0, weight.shape[-2] - 1, self.padding[0])
        c0, c1, pc = cols or (0, weight.shape[-1] - 1, self.padding[1])
        return F.conv2d(
            input, weight[:, :, r0 : r1 + 1, c0 : c1 + 1], bias, self.stride, (pr, pc), self.dilation, self.groups
        )


def crop_kernels(net: nn.Module) -> nn.Module:
    """`net` with every plain nn.Conv2d turned (in place) into a CroppedConv2d: the same
    parameters, state dict and results up to float rounding."""
    for module in net.modules():
        if type(module) is nn.Conv2d:
            module.__class__ = CroppedConv2d
    return net
