"""Initialisations of a GHN's decoder that change the scale of the parameters it first predicts.

`ghn2`: torch's defaults, as GHN-2 has them. `ghn3`: GHN-3's small init (the last layers of
the weight, 1-D and classifier decoders with weights / 5 and biases 0, "to help avoid nan
loss"). `hyperfan`: the idea of Chang et al. (ICLR 2020, "hyperfan-in"): the hypernetwork's
output layer scaled so that predicted weights start at their fan-in variance. Their formula
assumes a linear hypernetwork on inputs of known variance; GHN-2's decoder is three layers with
ReLUs behind a GNN, so the scale is measured instead, on a probe batch of graphs: the decoder's
last weight layer is divided by the RMS of predicted weights over their target std
sqrt(beta / fan_in) (GHN-2's gain beta: 2, or 1 for depthwise and 1 x k kernels), and the
classifier head so that the classifier weights start at std sqrt(1 / fan_in).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from deepnets1m.graph import GraphBatch

from .base import bias_of
from .conv_decoder import ConvDecoder, weight_gain
from .layout import param_slots

if TYPE_CHECKING:  # ghn.py imports this module
    from .ghn import GHN

DECODER_INITS = ("ghn2", "ghn3", "hyperfan")
GHN3_SHRINK = 5.0  # GHN-3's _init_small: last layers' weights divided by 5, biases zeroed


@torch.no_grad()
def small_init(decoder: ConvDecoder) -> None:
    """GHN-3's init of the decoder's last layers: weights / 5, biases 0."""
    last_vector = decoder.vector[-1]
    assert isinstance(last_vector, nn.Linear)
    for layer in (decoder.conv2, last_vector, decoder.classifier):
        layer.weight.div_(GHN3_SHRINK)
        bias_of(layer).zero_()


@torch.no_grad()
def ghn3_init(ghn: GHN) -> None:
    """GHN-3's initialisation: the last layers of the weight, 1-D and classifier decoders with
    weights / 5 and biases 0 (GHN3_SHRINK; small_init), and every embedding table truncated-normal with std
    dim^-1/2 (bounds +-2, torch's default)."""
    small_init(ghn.decoder)
    for module in ghn.modules():
        if isinstance(module, nn.Embedding):
            nn.init.trunc_normal_(module.weight, std=module.weight.shape[1] ** -0.5)


def weight_rms(ghn: GHN, batch: GraphBatch) -> tuple[float, float]:
    """RMS over `batch`'s predicted weights of (weight / its target std): (hidden-layer weights,
    classifier weights); targets sqrt(beta / fan_in) and sqrt(1 / fan_in)."""
    slots = param_slots(batch, ghn.num_classes)
    blocks = ghn.decoder(ghn.embed(batch), slots)
    sums = {"weight": [0.0, 0], "classifier": [0.0, 0]}
    for slot, value in zip(slots, blocks):
        if slot.role in sums:
            gain = weight_gain(slot.shape) if slot.role == "weight" else 1.0
            sums[slot.role][0] += float((value.double() ** 2).sum()) * slot.fan_in / gain
            sums[slot.role][1] += value.numel()
    hidden, head = (math.sqrt(total / max(count, 1)) for total, count in sums.values())
    return hidden, head


@torch.no_grad()
def hyperfan_init(ghn: GHN, batch: GraphBatch) -> tuple[float, float]:
    """Scale the decoder's last weight layer, then its classifier head, so the weights predicted
    for `batch` start at their target std (module docstring); the two factors divided by."""
    decoder = ghn.decoder
    hidden, _ = weight_rms(ghn, batch)
    for tensor in (decoder.conv2.weight, bias_of(decoder.conv2)):
        tensor.div_(hidden)
    _, head = weight_rms(ghn, batch)
    for tensor in (decoder.classifier.weight, bias_of(decoder.classifier)):
        tensor.div_(head)
    return hidden, head


def init_decoder(ghn: GHN, kind: str, probe: GraphBatch | None = None) -> None:
    """Apply decoder init `kind` (DECODER_INITS) to a freshly built GHN; hyperfan needs a `probe`
    batch of graphs like those it will be trained on."""
    if kind not in DECODER_INITS:
        raise ValueError(f"unknown decoder init {kind!r}; choose from {', '.join(DECODER_INITS)}")
    if kind == "ghn3":
        small_init(ghn.decoder)
    elif kind == "hyperfan":
        if probe is None:
            raise ValueError("the hyperfan decoder init measures predicted weights: give it a probe batch")
        hyperfan_init(ghn, probe)
