"""The fast spec compiler must agree exactly with tracing the built module."""

import pytest
import torch

from deepnets1m import build_net, sample, spec_graph, to_graph
from deepnets1m.net import count_params
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
        assert fast.num_params == sum(p.numel() for p in net.parameters()) == count_params(spec, **cfg)


@pytest.mark.parametrize(
    "stem_type,stem_pool,vit", [(0, False, False), (0, True, False), (1, False, False), (0, False, True)]
)
@pytest.mark.parametrize("preproc", [True, False])
def test_spec_graph_covers_every_op_stem_and_norm(stem_type, stem_pool, vit, preproc):
    ops = ("sep_conv_5x5", "dil_conv_3x3", "conv_7x1_1x7", "msa", "cse", "skip_connect", "max_pool_3x3")
    normal = tuple(((op, 0), ("avg_pool_3x3", 1)) for op in ops) if preproc else ((("msa", 1),),)
    reduce = ((("skip_connect", 0), ("skip_connect", 1)),) if preproc else ((("skip_connect", 0),),)
    concat = tuple(range(len(normal))) if preproc else (0,)
    reduce += tuple(((("conv_1x1", 1),),) * (len(normal) - 1))
    for norm in ("bn", "none"):
        for glob_avg, fc_layers in ((True, 2), (False, 1)):
            spec = ArchSpec(
                normal=normal,
                reduce=reduce,
                concat=concat,
                C=16,
                num_cells=5,
                stem_type=stem_type,
                stem_pool=stem_pool,
                vit=vit,
                preproc=preproc,
                norm=norm,
                glob_avg=glob_avg,
                fc_layers=fc_layers,
                fc_dim=32,
            )
            for cfg in CONFIGS:
                assert spec_graph(spec, **cfg).same_structure(traced(spec, cfg)), (norm, cfg)


def test_node_types_and_placement_follow_ghn2():
    """Depthwise convs are sep_conv / dil_conv, their 1x1 convs conv; an msa block is
    ln -> qkv -> msa -> proj -> bias -> sum -> ln -> ff1 -> bias -> ff2 -> bias -> sum; a cse op is
    fc1 -> bias -> fc2 -> bias -> cse, with its input also feeding cse; classifier weight and bias last."""
    spec = ArchSpec(normal=((("sep_conv_3x3", 0),),), reduce=((("dil_conv_5x5", 1),),), C=8, num_cells=4)
    types = spec_graph(spec).type_names()
    assert types.count("sep_conv") == 2 * 2  # two depthwise convs in each of the 2 normal cells
    assert types.count("dil_conv") == 2
    assert types[0] == "input" and types[-2:] == ["conv", "bias"]
    vit = ArchSpec(normal=((("msa", 1),),), reduce=((("cse", 1), ("conv_1x1", 0)),), C=16, num_cells=4, vit=True)
    g = spec_graph(vit)
    types = g.type_names()
    start = g.node_names.index("cells.0.ops.0.ln1")
    assert types[start : start + 12] == [
        "ln",
        "conv",
        "msa",
        "conv",
        "bias",
        "sum",
        "ln",
        "conv",
        "bias",
        "conv",
        "bias",
        "sum",
    ]
    gate = types.index("cse")
    assert types[gate - 4 : gate + 1] == ["conv", "bias", "conv", "bias", "cse"]
    into_gate = g.edge_index[0, g.edge_index[1] == gate].tolist()
    assert len(into_gate) == 2 and gate - 1 in into_gate
    assert "glob_avg" not in types[gate - 5 : gate]  # the cse's spatial mean is no node
