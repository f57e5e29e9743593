"""Named nets: the ood-predefined split (ResNet-50 and the DeepNets ViT, reference section 4), the
ood-torchvision split (more torchvision classifiers), and any torchvision model by name, adjusted
for small images as the reference's `adjust_net` does."""
from __future__ import annotations

from torch import nn

from .spec import LARGE_IMAGE, ArchSpec

# The DeepNets-1M ViT: 12 cells of one node at C = 128 (10 Transformer blocks, a stride-1 3x3
# average pool in the 2 reduction cells), the patch stem and positional encoding, no preprocessing.
DEEPNETS_VIT = ArchSpec(normal=((("msa", 1),),), reduce=((("avg_pool_3x3", 1),),), concat=(0,), C=128, num_cells=12,
                        C_mult=1, ks=3, stem_type=0, preproc=False, glob_avg=True, fc_layers=1, vit=True)

# split -> {name: spec}: each net is reported on its own, never averaged with the others
NAMED_SPLITS: dict[str, dict[str, ArchSpec]] = {
    "ood-predefined": {"resnet50": ArchSpec(predefined="resnet50"), "vit": DEEPNETS_VIT},
    "ood-torchvision": {name: ArchSpec(predefined=name) for name in
                        ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "densenet121", "vit_b_16")},
}
PREDEFINED: tuple[str, ...] = tuple(NAMED_SPLITS["ood-predefined"])
MIN_IMAGE_SIZE = {"vit_b_16": 16}  # smallest input side; 32 for the others (five stride-2 stages)


def min_image_size(name: str) -> int:
    """Smallest input side torchvision model `name` handles."""
    return MIN_IMAGE_SIZE.get(name, 32)


def build_predefined(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """torchvision model `name` (any of torchvision.models.list_models()) with a `num_classes` head
    and an `in_channels` stem; below ImageNet sizes its stem is adjusted (adjust_for_small_images)."""
    import torchvision

    if name not in torchvision.models.list_models():
        raise ValueError(f"unknown torchvision model {name!r}; the named splits have "
                         f"{', '.join(n for nets in NAMED_SPLITS.values() for n in nets)}, and any of "
                         f"torchvision.models.list_models() can be built")
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


def first_conv(model: nn.Module) -> tuple[nn.Module, str, nn.Conv2d]:
    """(parent module, attribute, conv) of the first Conv2d in module order: every torchvision
    classifier's input conv."""
    for name, child in model.named_modules():
        if isinstance(child, nn.Conv2d):
            parent_name, _, attr = name.rpartition(".")
            return model.get_submodule(parent_name), attr, child
    raise ValueError(f"{type(model).__name__} has no Conv2d")


def replace_input_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the input conv for one with `in_channels` inputs and otherwise identical settings."""
    parent, attr, c = first_conv(model)
    setattr(parent, attr, nn.Conv2d(in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, c.dilation,
                                    c.groups, c.bias is not None))


def adjust_for_small_images(model: nn.Module) -> None:
    """The reference's 32x32 adjustment: an input conv larger than 3x3 becomes 3x3 with stride 1
    and padding 1 (ResNet, DenseNet), a 3x3 one keeps its kernel at stride 1 (MobileNet,
    EfficientNet), and the stem's max-pool (the first one) is removed."""
    parent, attr, c = first_conv(model)
    kernel, pad = (c.kernel_size, c.padding) if c.kernel_size[0] <= 3 else ((3, 3), (1, 1))
    setattr(parent, attr, nn.Conv2d(c.in_channels, c.out_channels, kernel, 1, pad, c.dilation, c.groups,
                                    c.bias is not None))
    for name, child in model.named_modules():
        if isinstance(child, nn.MaxPool2d):
            parent_name, _, attr = name.rpartition(".")
            setattr(model.get_submodule(parent_name), attr, nn.Identity())
            return
