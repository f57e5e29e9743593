"""The fast spec compiler must agree exactly with tracing the built module."""
import pytest
import torch

from deepnets1m import build_net, sample, spec_graph, to_graph
from deepnets1m.spec import ArchSpec

CONFIGS = [
    {"num_classes": 10, "in_channels": 3, "image_size": 32},
    {"num_classes": 10, "in_channels": 1, "image_size": 8},
    {"num_classes": 1000, "in_channels": 3, "image_size": 224},
]


def traced(spec, cfg):
    with torch.device("meta"):
        return to_graph(build_net(spec, **cfg))


@pytest.mark.parametrize("split", ["train", "val", "ood-wide", "ood-deep", "ood-dense", "ood-bnfree"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=["cifar", "digits", "imagenet"])
def test_spec_graph_equals_traced_graph(split, cfg):
    for i in range(4):
        spec = sample(split, i)
        fast, slow = spec_graph(spec, **cfg), traced(spec, cfg)
        assert fast.same_structure(slow), (split, i)
        with torch.device("meta"):
            net = build_net(spec, **cfg)
        assert fast.num_params == sum(p.numel() for p in net.parameters())


def test_spec_graph_covers_every_op_and_norm():
    ops = ("sep_conv_5x5", "dil_conv_3x3", "conv_7x1_1x7", "msa", "cse", "skip_connect", "max_pool_3x3")
    for norm in ("bn", "ln", "none"):
        for stem in ("conv", "patch"):
            spec = ArchSpec(
                normal=tuple(((op, 0), ("avg_pool_3x3", 1)) for op in ops),
                reduce=((("skip_connect", 0), ("skip_connect", 1)), (("skip_connect", 2),), (("skip_connect", 3), ("skip_connect", 2))),
                C=16, num_cells=5, stem=stem, norm=norm, fc_layers=2, fc_dim=32, pos_enc=True,
            )
            cfg = CONFIGS[0]
            assert spec_graph(spec, **cfg).same_structure(traced(spec, cfg)), (norm, stem)


def test_spec_graph_types_sep_conv_as_its_block():
    spec = ArchSpec(normal=((("sep_conv_3x3", 0),),), reduce=((("dil_conv_5x5", 1),),), C=8, num_cells=4)
    types = spec_graph(spec).type_names()
    assert types.count("sep_conv") == 4 * 2  # dw+pw twice, in each of the 2 normal cells
    assert types.count("dil_conv") == 2 * 2
    assert types[0] == "input" and types[-1] == "bias"
