"""GHN-3's decoder (ConvDecoder3 of the reference GHN-3 code): GHN-2's conv decoder with a
hidden x hidden channel block (GHN-2's: 2 hidden) and a 1-D decoder 2 hidden wide, kernels read around
the centre of the s x s map instead of its top-left corner, kernels larger than s resized
bilinearly instead of repeated, and ViT-style token positional encodings decoded as a
square grid of tokens."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .conv_decoder import Box, ConvDecoder, kernel_2d
from .layout import ParamSlot, token_grid

CLASS_TOKEN_STD = (
    0.02  # GHN-3 draws the class-token row of a ViT's positional encoding at random (never trained on one)
)


class ConvDecoder3(ConvDecoder):
    """Node embedding -> parameters, as GHN-3 predicts them (module docstring): the channel block
    is `block` x `block` (GHN-3: hidden), the fc and per-pixel layers 4 and 8 hidden wide as
    GHN-2's, the 1-D decoder's hidden layer 2 hidden."""

    def __init__(
        self, hidden: int, num_classes: int, max_side: int = 16, scaling: bool = True, block: int | None = None
    ) -> None:
        super().__init__(
            hidden,
            num_classes,
            max_side,
            scaling,
            block=block or hidden,
            vector_width=2 * hidden,
        )

    def window(self, kh: int, kw: int) -> Box:
        """A kh x kw kernel read around the map's centre: rows s/2 - kh//2 up to s/2 + ceil(kh/2)."""
        centre = self.side // 2
        return tuple((max(0, centre - k // 2), min(self.side, centre + math.ceil(k / 2))) for k in (kh, kw))

    def corner(self, slot: ParamSlot) -> tuple:
        """As GHN-2's, except that a (1, tokens, C) positional encoding is decoded as a (1, C) block
        of side x side pixels (side: token_grid)."""
        side = token_grid(slot.shape) if slot.role == "pos_enc" else None
        if side is None:
            return super().corner(slot)
        return 1, min(slot.shape[2], self.block), min(side, self.side), min(side, self.side), False

    def fit_kernel(self, value: torch.Tensor, slot: ParamSlot) -> torch.Tensor:
        """A decoded block as the block that tiles to `slot`: kernels larger than s in both dims
        resized bilinearly (others as GHN-2: repeated); a (1, tokens, C) positional encoding is
        returned whole, its grid flattened to tokens, a random class-token row (std 0.02) put
        first, its channels repeated to C."""
        side = token_grid(slot.shape) if slot.role == "pos_enc" else None
        if side is not None:
            tokens = value.flatten(2).transpose(1, 2)  # (1, side^2, c)
            extra = slot.shape[1] - tokens.shape[1]
            cls = torch.normal(
                0.0, CLASS_TOKEN_STD, (1, extra, tokens.shape[2]), device=value.device, dtype=value.dtype
            )
            tokens = torch.cat([cls, tokens], dim=1)
            return tokens.repeat(1, 1, math.ceil(slot.shape[2] / tokens.shape[2]))[..., : slot.shape[2]]
        kh, kw = kernel_2d(slot.shape)
        if slot.role != "classifier" and min(kh, kw) > self.side:
            value = F.interpolate(value, size=(kh, kw), mode="bilinear")
        return super().fit_kernel(value, slot)
