import pytest
import torch
from torch import nn

import bench.harness.nets
from bench.harness.nets import make_net
from bench.harness.train import train_architectures
from deepnets1m import sample, spec_graph


def shapes(net):
    return {name: tuple(p.shape) for name, p in net.named_parameters()}


@pytest.mark.parametrize("eager", [True, False])
def test_uninitialised_nets_match_the_initialised_ones_and_leave_the_random_stream_alone(monkeypatch, eager):
    if eager:  # a tiny-preset train net, below the threshold: built directly
        spec, size = train_architectures(0, 0, 1, 5e5)[0], 8
        assert spec_graph(spec, 10, 1, size).num_params <= bench.harness.nets.EAGER_INIT_PARAMS
    else:  # a torchvision net (BatchNorm with running statistics) over the threshold: the meta device
        spec, size = sample("ood-torchvision", 2), 32
        monkeypatch.setattr(bench.harness.nets, "EAGER_INIT_PARAMS", 0)
    state = torch.get_rng_state()
    net = make_net(spec, 10, 1, size, init=False)
    assert torch.equal(torch.get_rng_state(), state)  # dropout seeds and data order do not shift
    assert shapes(net) == shapes(make_net(spec, 10, 1, size))
    assert all(p.device.type == "cpu" for p in net.parameters())
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d) and m.running_mean is not None]
    assert eager or norms
    for m in norms:  # running statistics start where torch starts them
        assert torch.equal(m.running_mean, torch.zeros_like(m.running_mean))
        assert torch.equal(m.running_var, torch.ones_like(m.running_var))
