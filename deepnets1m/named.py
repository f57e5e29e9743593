"""The named splits' nets as specs (ood-predefined: ResNet-50 and the DeepNets ViT, reference
section 4; ood-torchvision: more torchvision classifiers), without torch: tables and records
read these names; deepnets1m.predefined builds the nets."""

from __future__ import annotations

from .spec import ArchSpec

# The DeepNets-1M ViT: 12 cells of one node at C = 128 (10 Transformer blocks, a stride-1 3x3
# average pool in the 2 reduction cells), the patch stem and positional encoding, no preprocessing.
DEEPNETS_VIT = ArchSpec(
    normal=((("msa", 1),),),
    reduce=((("avg_pool_3x3", 1),),),
    concat=(0,),
    C=128,
    num_cells=12,
    C_mult=1,
    ks=3,
    stem_type=0,
    preproc=False,
    glob_avg=True,
    fc_layers=1,
    vit=True,
)

# split -> {name: spec}: each net is reported on its own, never averaged with the others
NAMED_SPLITS: dict[str, dict[str, ArchSpec]] = {
    "ood-predefined": {"resnet50": ArchSpec(predefined="resnet50"), "vit": DEEPNETS_VIT},
    "ood-torchvision": {
        name: ArchSpec(predefined=name)
        for name in ("resnet18", "mobilenet_v3_small", "efficientnet_b0", "densenet121", "vit_b_16")
    },
}
PREDEFINED: tuple[str, ...] = tuple(NAMED_SPLITS["ood-predefined"])
MIN_IMAGE_SIZE = {"vit_b_16": 16}  # smallest input side; 32 for the others (five stride-2 stages)


def min_image_size(name: str) -> int:
    """Smallest input side torchvision model `name` handles."""
    return MIN_IMAGE_SIZE.get(name, 32)
