import pytest
import torch

from deepnets1m import ArchSpec, build_net, sample, spec_graph
from deepnets1m.predefined import DEEPNETS_VIT, NAMED_SPLITS


@pytest.mark.parametrize("split", ["train", "ood-bnfree", "ood-dense"])
@pytest.mark.parametrize("in_channels,image_size", [(1, 8), (3, 32)])
def test_deepnets_forward(split, in_channels, image_size):
    torch.manual_seed(0)
    for i in range(2):
        net = build_net(sample(split, i), num_classes=7, in_channels=in_channels, image_size=image_size)
        out = net(torch.randn(2, in_channels, image_size, image_size))
        assert out.shape == (2, 7)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "stem_type,stem_pool,vit,side",
    [(0, False, False, 56), (0, True, False, 28), (1, False, False, 28), (0, False, True, 14)],
)
def test_imagenet_sized_stems_downsample(stem_type, stem_pool, vit, side):
    spec = ArchSpec(
        normal=((("conv_3x3", 0),),),
        reduce=((("conv_1x1", 1),),),
        C=8,
        num_cells=4,
        stem_type=stem_type,
        stem_pool=stem_pool,
        vit=vit,
    )
    net = build_net(spec, num_classes=5, in_channels=3, image_size=224)
    assert net.stem(torch.randn(1, 3, 224, 224))[1].shape[-1] == side
    assert net(torch.randn(1, 3, 224, 224)).shape == (1, 5)


@pytest.mark.parametrize(
    "stem_type,stem_pool,vit,side",
    [(0, False, False, 8), (0, True, False, 4), (1, False, False, 4), (0, False, True, 11)],
)
def test_cifar_final_map_sizes(stem_type, stem_pool, vit, side):
    """The reference's final maps on 32x32: 8x8, or 4x4 with stem_pool or stem 1; ViT 11x11."""
    spec = ArchSpec(
        normal=((("conv_3x3", 0),),),
        reduce=((("conv_1x1", 1),),),
        C=8,
        num_cells=4,
        stem_type=stem_type,
        stem_pool=stem_pool,
        vit=vit,
        glob_avg=False,
    )
    net = build_net(spec, num_classes=5)
    assert net.classifier.in_features == 8 * side * side
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 5)


def test_empty_concatenated_nodes_are_zeros():
    spec = ArchSpec(
        normal=((("conv_1x1", 0),), ()), reduce=((("conv_1x1", 0),), (("max_pool_3x3", 2),)), concat=(0, 1), num_cells=4
    )
    net = build_net(spec)
    out = net.cells[0](torch.randn(2, 96, 8, 8), torch.randn(2, 96, 8, 8))
    assert out.shape == (2, 64, 8, 8) and out[:, 32:].abs().sum() == 0 and out[:, :32].abs().sum() > 0
    assert spec_graph(spec).same_structure(spec_graph(spec))


def test_every_op_runs_with_both_strides():
    from deepnets1m.ops import make_op
    from deepnets1m.spec import PRIMITIVES

    x = torch.randn(2, 16, 9, 9)
    for op in PRIMITIVES[1:]:
        for stride, side in ((1, 9), (2, 5)):
            for norm in ("bn", "none"):
                assert make_op(op, 16, stride, norm)(x).shape == (2, 16, side, side), (op, stride, norm)


def test_predefined_nets_have_the_reference_sizes():
    assert spec_graph(sample("ood-predefined", 0)).num_params == 23_520_842  # ResNet-50 adjusted for 32x32
    assert spec_graph(sample("ood-predefined", 0), 1000, 3, 224).num_params == 25_557_032  # unchanged at 224
    assert sample("ood-predefined", 1) == DEEPNETS_VIT
    assert spec_graph(DEEPNETS_VIT).num_params == 1_012_234
    assert spec_graph(DEEPNETS_VIT, 1000, 3, 224).num_params == 1_244_392
    with torch.device("meta"):
        resnet = build_net(sample("ood-predefined", 0))
    assert resnet.conv1.kernel_size == (3, 3) and resnet.conv1.stride == (1, 1)
    assert isinstance(resnet.maxpool, torch.nn.Identity)


@pytest.mark.parametrize("name", list(NAMED_SPLITS["ood-torchvision"]))
def test_torchvision_nets_build_with_other_inputs(name):
    with torch.device("meta"):
        net = build_net(NAMED_SPLITS["ood-torchvision"][name], 100, 1, 32)
    first_conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 1
    assert list(net.parameters())[-1].shape[0] == 100  # classifier bias


def test_predefined_resnet18_forward_on_grayscale():
    net = build_net(ArchSpec(predefined="resnet18"), 10, 1, 32)
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_predefined_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="at least 32x32"):
        build_net(ArchSpec(predefined="resnet50"), 10, 1, 8)
    with pytest.raises(ValueError, match="divisible by 16"):
        build_net(ArchSpec(predefined="vit_b_16"), 10, 3, 40)
    with pytest.raises(ValueError, match="unknown torchvision model 'resnet51'.*resnet50"):
        build_net(ArchSpec(predefined="resnet51"), 10, 3, 32)
