"""Named nets: the ood-predefined split (ResNet-50 and the DeepNets ViT, reference section 4), the
ood-torchvision split (more torchvision classifiers), and any torchvision model by name, adjusted
for small images as the reference's `adjust_net` does."""

from __future__ import annotations

from torch import nn

from .named import DEEPNETS_VIT, MIN_IMAGE_SIZE, NAMED_SPLITS, PREDEFINED, min_image_size
from .spec import LARGE_IMAGE

__all__ = ["DEEPNETS_VIT", "MIN_IMAGE_SIZE", "NAMED_SPLITS", "PREDEFINED", "build_predefined", "min_image_size"]


def build_predefined(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """torchvision model `name` (any of torchvision.models.list_models()) with a `num_classes` head
    and an `in_channels` stem; below ImageNet sizes its stem is adjusted (adjust_for_small_images)."""
    import torchvision

    if name not in torchvision.models.list_models():
        raise ValueError(
            f"unknown torchvision model {name!r}; the named splits have "
            f"{', '.join(n for nets in NAMED_SPLITS.values() for n in nets)}, and any of "
            f"torchvision.models.list_models() can be built"
        )
    if image_size < min_image_size(name):
        raise ValueError(
            f"{name} needs images of at least {min_image_size(name)}x{min_image_size(name)} pixels, got "
            f"{image_size}: resize the inputs (e.g. image_size=32) before building it"
        )
    kwargs = {}
    if name.startswith("vit_"):
        if image_size % 16:
            raise ValueError(f"{name} needs image_size divisible by 16 (its patch size), got {image_size}")
        kwargs["image_size"] = image_size
    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **kwargs)
    if in_channels != 3:
        replace_input_conv(model, in_channels)
    if image_size < LARGE_IMAGE and not name.startswith("vit_"):
        adjust_for_small_images(model)
    return model


def replace_first(model: nn.Module, kind: type, make, required: bool = True) -> None:
    """Replace the first submodule of type `kind` (in module order) by make(that submodule)."""
    for name, child in model.named_modules():
        if isinstance(child, kind):
            parent, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent), attr, make(child))
            return
    if required:
        raise ValueError(f"{type(model).__name__} has no {kind.__name__} to adapt")


def rebuilt_conv(c: nn.Conv2d, **changes) -> nn.Conv2d:
    """A fresh Conv2d with the settings of `c`, `changes` applied."""
    settings = dict(
        in_channels=c.in_channels,
        out_channels=c.out_channels,
        kernel_size=c.kernel_size,
        stride=c.stride,
        padding=c.padding,
        dilation=c.dilation,
        groups=c.groups,
        bias=c.bias is not None,
    )
    return nn.Conv2d(**{**settings, **changes})


def replace_input_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the input conv (the first Conv2d of every torchvision classifier) for one with
    `in_channels` inputs and otherwise identical settings."""
    replace_first(model, nn.Conv2d, lambda c: rebuilt_conv(c, in_channels=in_channels))


def adjust_for_small_images(model: nn.Module) -> None:
    """The reference's 32x32 adjustment: an input conv larger than 3x3 becomes 3x3 with stride 1
    and padding 1 (ResNet, DenseNet), a 3x3 one keeps its kernel at stride 1 (MobileNet,
    EfficientNet), and the stem's max-pool (the first one, where there is one) is removed."""
    replace_first(
        model,
        nn.Conv2d,
        lambda c: (
            rebuilt_conv(c, stride=1) if c.kernel_size[0] <= 3 else rebuilt_conv(c, kernel_size=3, stride=1, padding=1)
        ),
    )
    replace_first(model, nn.MaxPool2d, lambda _: nn.Identity(), required=False)
