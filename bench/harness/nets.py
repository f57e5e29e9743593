"""Building evaluation/training networks and running them the way GHN evaluation needs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.harness.kernel_crop import crop_kernels
from deepnets1m import ArchSpec, build_net, spec_graph
from deepnets1m.predefined import min_image_size

# make_net(init=False) builds nets up to this size directly: a tiny-preset train net (<= 5e5
# parameters) then takes ~5-9 ms to build instead of ~18-23 ms on the meta device (2-core AMD EPYC)
EAGER_INIT_PARAMS = 1_000_000


def input_size(spec: ArchSpec, image_size: int) -> int:
    """Side the images are resized to for `spec`: torchvision models need at least 32 px
    (digits are 8 px); DeepNets-1M nets take the data set's size."""
    if spec.predefined is None:
        return image_size
    return max(image_size, min_image_size(spec.predefined))


def make_net(
    spec: ArchSpec,
    num_classes: int,
    in_channels: int,
    image_size: int,
    device: torch.device | str = "cpu",
    init: bool = True,
) -> nn.Module:
    """build_net on `device`, its convolutions cropped to the taps their inputs reach
    (bench.harness.kernel_crop: same results up to float rounding); with init=False the parameter values
    are unspecified (to be predicted): nets above EAGER_INIT_PARAMS are built on the meta device
    and left uninitialised (their random init costs more than the meta device's Python overhead),
    smaller ones get torch's default init without drawing from the global random stream (it
    costs less)."""
    return crop_kernels(built_net(spec, num_classes, in_channels, image_size, device, init))


def built_net(
    spec: ArchSpec, num_classes: int, in_channels: int, image_size: int, device: torch.device | str, init: bool
) -> nn.Module:
    """make_net's net before its convolutions are cropped."""
    size = input_size(spec, image_size)
    if init:
        return build_net(spec, num_classes, in_channels, size).to(device)
    if spec_graph(spec, num_classes, in_channels, size).num_params <= EAGER_INIT_PARAMS:
        with torch.random.fork_rng(devices=[]):
            return build_net(spec, num_classes, in_channels, size).to(device)
    with torch.device("meta"):
        net = build_net(spec, num_classes, in_channels, size)
    net = net.to_empty(device=device)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    return net


def fit_input(x: torch.Tensor, size: int, channels_last: bool = False) -> torch.Tensor:
    """Resize a batch to size x size (bilinear) when it is not already; optionally channels-last."""
    x = x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def logits_of(out) -> torch.Tensor:
    """A model's logits: its output, or for a tuple/list or dict output its first tensor (as
    torchvision's GoogLeNet/Inception return (logits, aux) in train mode); ValueError otherwise."""
    if isinstance(out, torch.Tensor):
        return out
    items = out.values() if isinstance(out, dict) else out if isinstance(out, (tuple, list)) else ()
    for item in items:
        if isinstance(item, torch.Tensor):
            return item
    raise ValueError(
        f"the model returned a {type(out).__name__} holding no tensor; it must return logits "
        f"(or a tuple/dict whose first tensor is the logits)"
    )


def net_seed(seed: int, index: int) -> int:
    """The seed of evaluated net `index`'s random init under run seed `seed` (its baselines, its
    fine-tuning from random init and the noise added to its predicted weights derive from it)."""
    return seed * 1_000_003 + index
