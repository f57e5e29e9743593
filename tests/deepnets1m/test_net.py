import pytest
import torch

from deepnets1m import PREDEFINED, ArchSpec, build_net, sample


@pytest.mark.parametrize("split", ["train", "ood-bnfree", "ood-dense"])
@pytest.mark.parametrize("in_channels,image_size", [(1, 8), (3, 32)])
def test_deepnets_forward(split, in_channels, image_size):
    torch.manual_seed(0)
    for i in range(2):
        net = build_net(sample(split, i), num_classes=7, in_channels=in_channels, image_size=image_size)
        out = net(torch.randn(2, in_channels, image_size, image_size))
        assert out.shape == (2, 7)
        assert torch.isfinite(out).all()


def test_imagenet_sized_stem_downsamples():
    spec = ArchSpec(normal=((("conv_3x3", 0),),), reduce=((("conv_1x1", 1),),), C=8, num_cells=4)
    net = build_net(spec, num_classes=5, in_channels=3, image_size=128)
    assert net.stem(torch.randn(1, 3, 128, 128)).shape[-1] == 32
    assert net(torch.randn(1, 3, 128, 128)).shape == (1, 5)


def test_every_op_runs_with_both_strides():
    from deepnets1m.ops import make_op
    from deepnets1m.spec import PRIMITIVES

    x = torch.randn(2, 16, 9, 9)
    for op in PRIMITIVES[1:]:
        for stride, side in ((1, 9), (2, 5)):
            for norm in ("bn", "ln", "none"):
                assert make_op(op, 16, stride, norm)(x).shape == (2, 16, side, side), (op, stride, norm)


@pytest.mark.parametrize("name", list(PREDEFINED))
def test_predefined_builds_with_other_inputs(name):
    with torch.device("meta"):
        net = build_net(sample("ood-predefined", list(PREDEFINED).index(name)), 100, 1, 32)
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
