import itertools

import pytest
import torch
from torch import nn

from bench.harness.kernel_crop import CroppedConv2d, crop_kernels, used_taps
from bench.harness.nets import make_net
from deepnets1m import sample, to_graph


def test_used_taps_of_known_cases():
    assert used_taps(3, 7, 1, 3, 1) == (1, 5, 2)  # 7x7 on a 3x3 map: the central 5 taps
    assert used_taps(1, 3, 1, 1, 1) == (1, 1, 0)  # a 1x1 map: the centre only
    assert used_taps(2, 3, 1, 2, 2) == (1, 1, 0)  # 3x3 dilated by 2 on a 2x2 map: the centre only
    assert used_taps(8, 3, 1, 1, 1) is None  # the kernel fits: nothing to cut
    assert used_taps(5, 5, 1, 2, 1) is None


@pytest.mark.parametrize(
    "size,kernel,stride,dilation,groups",
    [(s, k, st, d, g) for s, k, st, d, g in itertools.product((1, 2, 3, 4), (1, 3, 5, 7), (1, 2), (1, 2), (1, 4))],
)
def test_a_cropped_convolution_computes_what_the_full_kernel_does(size, kernel, stride, dilation, groups):
    torch.manual_seed(size * 100 + kernel)
    full = nn.Conv2d(8, 8, kernel, stride, padding=dilation * (kernel - 1) // 2, dilation=dilation, groups=groups)
    cropped = nn.Conv2d(8, 8, kernel, stride, padding=dilation * (kernel - 1) // 2, dilation=dilation, groups=groups)
    cropped.load_state_dict(full.state_dict())
    crop_kernels(cropped)
    x = torch.randn(3, 8, size, size + 1, dtype=torch.float64)
    full, cropped = full.double(), cropped.double()
    out_full, out_cropped = full(x), cropped(x)
    assert out_full.shape == out_cropped.shape
    torch.testing.assert_close(out_cropped, out_full, rtol=1e-12, atol=1e-12)
    out_full.square().sum().backward()
    out_cropped.square().sum().backward()
    torch.testing.assert_close(cropped.weight.grad, full.weight.grad, rtol=1e-12, atol=1e-12)  # zero on the cut taps


def test_a_made_net_has_cropped_convolutions_and_the_same_parameters_and_graph():
    spec = sample("ood-wide", 0)
    net = make_net(spec, 10, 1, 8)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(type(m) is CroppedConv2d for m in convs)
    torch.manual_seed(0)
    plain = make_net(spec, 10, 1, 8)
    for m in plain.modules():
        if type(m) is CroppedConv2d:
            m.__class__ = nn.Conv2d
    assert list(net.state_dict()) == list(plain.state_dict())
    assert to_graph(net).same_structure(to_graph(plain))


def test_a_net_scored_before_prediction_gets_the_same_predicted_parameters():
    """bench eval scores a net's random init (channels-last, in place) before the GHN writes into it."""
    from bench.harness.workloads import protocol_ghn

    ghn = protocol_ghn("gcn", image_size=8).eval()
    for split, index in (("val", 0), ("ood-deep", 1), ("ood-predefined", 0)):
        plain = ghn(make_net(sample(split, index), 10, 1, 8))
        scored = ghn(make_net(sample(split, index), 10, 1, 8).to(memory_format=torch.channels_last))
        for (name, a), b in zip(plain.state_dict().items(), scored.state_dict().values()):
            assert torch.equal(a, b), name
