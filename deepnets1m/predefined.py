"""The ood-predefined split: torchvision architectures (random init, never pretrained weights)."""
from __future__ import annotations

from torch import nn

# name -> smallest input side the model handles (five stride-2 stages, or one 16 px patch)
PREDEFINED: dict[str, int] = {
    "resnet50": 32,
    "vit_b_16": 16,
    "resnet18": 32,
    "mobilenet_v3_small": 32,
    "efficientnet_b0": 32,
    "densenet121": 32,
}


def min_image_size(name: str) -> int:
    """Smallest input side torchvision model `name` handles (32 unless listed in PREDEFINED)."""
    return PREDEFINED.get(name, 32)


def build_predefined(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """torchvision model `name` (any of torchvision.models.list_models(); the ood-predefined split
    uses PREDEFINED) with a `num_classes` head and an `in_channels` stem."""
    import torchvision

    if name not in torchvision.models.list_models():
        raise ValueError(f"unknown torchvision model {name!r}; the ood-predefined split has {', '.join(PREDEFINED)}, "
                         f"and any of torchvision.models.list_models() can be built")
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
    return model


def replace_input_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the first Conv2d in module order (every torchvision stem's input conv) for one with
    `in_channels` inputs and otherwise identical settings."""
    for name, child in model.named_modules():
        if isinstance(child, nn.Conv2d):
            parent_name, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_name), attr, nn.Conv2d(
                in_channels, child.out_channels, child.kernel_size, child.stride, child.padding,
                child.dilation, child.groups, child.bias is not None,
            ))
            return
    raise ValueError(f"{type(model).__name__} has no Conv2d to adapt to {in_channels} input channels")
