import itertools
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from deepnets1m import GraphConstructionError, to_graph
from gnn_zoo import GHN


def assert_params_mapped_once(model, graph):
    params = dict(model.named_parameters())
    assert sorted(graph.param_names) == sorted(params)  # every parameter, none twice
    for name, shape in zip(graph.param_names, graph.param_shapes):
        assert shape == tuple(params[name].shape)
    assert graph.param_node.max() < graph.num_nodes


def assert_dag_in_topological_order(graph):
    src, dst = graph.edge_index
    assert (src < dst).all()
    assert (graph.level[dst] > graph.level[src]).all()


@pytest.fixture(scope="module")
def resnet50():
    with torch.device("meta"):
        return torchvision.models.resnet50()


def test_resnet50_graph(resnet50):
    g = to_graph(resnet50)
    assert_params_mapped_once(resnet50, g)
    assert_dag_in_topological_order(g)
    counts = Counter(g.type_names())
    assert counts["conv"] == 53 + 1 and counts["bn"] == 53 and counts["sum"] == 16  # 53 convs + fc
    assert counts["input"] == 1 and counts["max_pool"] == 1 and counts["glob_avg"] == 1
    assert counts["bias"] == 1  # only the classifier has a bias
    assert g.params_of(g.num_nodes - 2) == [("fc.weight", (1000, 2048))]
    assert g.num_params == 25_557_032


def test_vit_graph():
    with torch.device("meta"):
        vit = torchvision.models.vit_b_16(image_size=32)
    g = to_graph(vit)
    assert_params_mapped_once(vit, g)
    assert_dag_in_topological_order(g)
    counts = Counter(g.type_names())
    assert counts["msa"] == 12  # one per block, between its in- and out-projections
    assert counts["ln"] == 2 * 12 + 1
    assert counts["pos_enc"] == 2  # class token and positional embedding
    assert counts["concat"] == 1 and counts["sum"] == 1 + 2 * 12


def test_training_flags_are_restored(resnet50):
    resnet50.train()
    to_graph(resnet50)
    assert all(m.training for m in resnet50.modules())
    resnet50.eval()
    resnet50.bn1.train()  # mixed modes, as in evaluation with batch statistics
    to_graph(resnet50)
    assert resnet50.bn1.training and not resnet50.training and not resnet50.layer1[0].bn1.training


class Unusual(nn.Module):
    def __init__(self):
        super().__init__()
        self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)
        self.depthwise = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.ln = nn.LayerNorm(16)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.act = nn.GELU()
        self.embed = nn.Embedding(10, 16)
        self.scale = nn.Parameter(torch.ones(16))
        self.head = nn.Linear(16, 3)

    def forward(self, x, ids):
        x = self.depthwise(self.act(self.grouped(x)))
        t = self.ln(x.flatten(2).transpose(1, 2)) + self.embed(ids)
        t = self.attn(t, t, t)[0] * self.scale
        return self.head(F.relu(t.mean(1)))


def test_unusual_modules():
    m = Unusual()
    g = to_graph(m)
    assert_params_mapped_once(m, g)
    assert_dag_in_topological_order(g)
    types = g.type_names()
    assert types.count("input") == 2
    grouped = g.node_names.index("grouped")
    # GHN-2's rule: a grouped conv is sep_conv (dil_conv if dilated), every Linear a conv
    assert types[grouped] == "sep_conv" and g.params_of(grouped) == [("grouped.weight", (16, 2, 3, 3))]
    assert types[grouped + 1] == "bias"
    assert types[g.node_names.index("depthwise")] == "sep_conv"
    assert types[g.node_names.index("ln")] == "ln"
    assert types[g.node_names.index("embed")] == "extendable"
    # attention: in-projection (+bias), the msa node, then the out-projection (+bias)
    attn = g.node_names.index("attn")
    assert types[attn : attn + 5] == ["conv", "bias", "msa", "conv", "bias"]
    assert g.node_names[attn + 3] == "attn.out_proj"
    assert types[g.node_names.index("scale")] == "pos_enc"
    # GELU is transparent: the grouped conv's bias feeds the depthwise conv directly
    assert [grouped + 1, g.node_names.index("depthwise")] in g.edge_index.t().tolist()
    assert m(torch.randn(2, 8, 4, 4), torch.zeros(2, 16, dtype=torch.long)).shape == (2, 3)


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 8))
        self.b = nn.Parameter(torch.zeros(4))
        self.g = nn.Parameter(torch.ones(4))

    def forward(self, x):
        return F.layer_norm(F.linear(x, self.w, self.b), (4,), self.g)


def test_functional_layers_own_their_parameters():
    m = Functional()
    g = to_graph(m)
    assert_params_mapped_once(m, g)
    assert g.type_names() == ["input", "conv", "bias", "ln"]


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        return self.conv(self.conv(x))


def test_module_called_twice_owns_its_parameters_once():
    m = Shared()
    g = to_graph(m)
    assert_params_mapped_once(m, g)
    assert g.type_names() == ["input", "conv", "bias", "conv"]


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return x


class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = DataDependent()
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.block(x))


def test_untraceable_module_gets_clear_error_and_leaf_fallback():
    with pytest.raises(GraphConstructionError, match="leaf_modules=\\(MyBlock,\\)"):
        to_graph(Wrapper())
    m = Wrapper()
    g = to_graph(m, leaf_modules=(DataDependent,))
    assert_params_mapped_once(m, g)
    assert g.type_names() == ["input", "extendable", "conv", "bias"]


class WithSpare(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(3, 3)
        self.spare = nn.Linear(3, 3)

    def forward(self, x):
        return self.used(x)


def test_unused_parameters_get_isolated_nodes():
    m = WithSpare()
    with pytest.warns(UserWarning, match="not used in forward"):
        g = to_graph(m)
    assert_params_mapped_once(m, g)
    assert g.type_names()[-2:] == ["extendable", "extendable"]


class Sequence(nn.Module):
    """A conv stem read as a sequence by a packaged recurrent or Transformer body."""

    def __init__(self, body: nn.Module, width: int = 16):
        super().__init__()
        self.stem, self.body, self.head = nn.Conv2d(1, 16, 3, padding=1), body, nn.Linear(width, 10)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        x = self.body(x)
        return self.head((x[0] if isinstance(x, tuple) else x).mean(1))


def identical_pairs(net: nn.Module) -> list[tuple[str, str]]:
    """Pairs of same-shaped parameters of `net` holding identical values."""
    params = list(net.named_parameters())
    return [(a, b) for (a, p), (b, q) in itertools.combinations(params, 2) if p.shape == q.shape and torch.equal(p, q)]


@pytest.mark.parametrize(
    "body, width",
    [
        (lambda: nn.LSTM(16, 16, num_layers=2, batch_first=True), 16),
        (lambda: nn.GRU(16, 16, num_layers=2, batch_first=True), 16),
        (lambda: nn.LSTM(16, 16, num_layers=2, batch_first=True, proj_size=8), 8),
    ],
)
def test_each_recurrent_layer_gets_nodes_of_its_own(body, width):
    net = Sequence(body(), width)
    graph = to_graph(net)
    assert graph.num_params == sum(p.numel() for p in net.parameters())  # every weight owned once
    names = set(graph.node_names)
    assert {"body.ih_l0", "body.hh_l0", "body.ih_l1", "body.hh_l1"} <= names
    GHN("gcn", "pyg", hidden=16, layers=2)(net)
    assert identical_pairs(net) == []  # before: one node, so layer 1's weights were layer 0's


def test_the_transformer_encoder_is_traced_along_its_math_path():
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    net = Sequence(nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False))
    graph = to_graph(net)
    assert graph.num_params == sum(p.numel() for p in net.parameters())
    assert {"body.layers.0.linear1", "body.layers.1.linear1"} <= set(graph.node_names)
    assert graph.type_names().count("msa") == 2 and graph.type_names().count("ln") == 4
    x = torch.randn(2, 1, 8, 8)
    expected = net.eval()(x)
    GHN("gcn", "pyg", hidden=16, layers=2)(net)
    assert identical_pairs(net) == []  # measured before: 72 identical pairs in this encoder
    assert net(x).shape == expected.shape
    leaf = to_graph(net, leaf_modules=(nn.TransformerEncoder,))  # asked for, it stays one node
    assert "extendable" in leaf.type_names() and "body.layers.0.linear1" not in leaf.node_names


def test_a_bidirectional_layer_gets_a_node_per_direction():
    net = Sequence(nn.GRU(16, 8, num_layers=2, batch_first=True, bidirectional=True))
    graph = to_graph(net)
    assert {"body.ih_l1", "body.ih_l1_reverse", "body.out_l0"} <= set(graph.node_names)
    assert graph.num_params == sum(p.numel() for p in net.parameters())
