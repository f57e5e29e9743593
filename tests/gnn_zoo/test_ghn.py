import pytest
import torch
import torchvision
from torch import nn

from deepnets1m import build_net, sample, to_graph
from gnn_zoo import GHN, available
from gnn_zoo.decoder import tile, tile_into


@pytest.mark.parametrize("core", sorted(available()))
def test_predict_covers_every_parameter(core, graphs):
    ghn = GHN(core, hidden=32, num_classes=1000)
    preds = ghn.predict(ghn.batch(graphs))
    for graph, pred in zip(graphs, preds):
        assert list(pred) == graph.param_names
        for name, shape in zip(graph.param_names, graph.param_shapes):
            assert pred[name].shape == shape and torch.isfinite(pred[name]).all(), name


def test_predicted_parameters_are_differentiable(graphs):
    ghn = GHN("gatedgnn", hidden=32, num_classes=10)
    preds = ghn.predict(ghn.batch(graphs[:2]))
    sum(v.square().sum() for p in preds for v in p.values()).backward()
    for part in (
        "type_embed",
        "shape_enc.channel",
        "shape_enc.spatial",
        "core.gru",
        "core.mlp",
        "decoder.fc",
        "decoder.conv1",
        "decoder.conv2",
        "decoder.vector",
        "decoder.classifier",
        "decoder.classifier_bias",
    ):
        grads = [p.grad for n, p in ghn.named_parameters() if n.startswith(part)]
        assert grads and all(g is not None and g.abs().sum() > 0 for g in grads), part


def test_ghn2_has_the_reference_size():
    """Section 6's hand counts: 1,620,764 parameters on CIFAR-10 and 2,319,728 on ImageNet
    (ours: +32 for the 16th node type, `extendable`)."""
    cifar = GHN("gatedgnn", hidden=32, num_classes=10)
    imagenet = GHN("gatedgnn", hidden=32, num_classes=1000, max_side=16)
    for ghn, reference in ((cifar, 1_620_764), (imagenet, 2_319_728)):
        assert abs(sum(p.numel() for p in ghn.parameters()) / reference - 1) <= 0.01
    decoder = sum(
        p.numel() for n, p in cifar.decoder.named_parameters() if not n.startswith(("vector", "classifier_bias"))
    )
    assert decoder == 1_597_450
    assert len(cifar.shape_enc.channel_values) == 391 and 1000 in imagenet.shape_enc.channel_values
    assert cifar.shape_enc.spatial_values.tolist() == [1, 3, 5, 7, 9, 11, 14, 16]


def test_ghn1_and_mlp_have_the_reference_sizes():
    """Section 6: GHN-1 (no LayerNorm, one 32 -> 32 -> 32 message MLP) has 1,620,668 parameters on
    CIFAR-10 and the MLP variant 1,614,396; both differences to GHN-2 are exact (ours: +32 each)."""

    def size(**kwargs):
        return sum(p.numel() for p in GHN(**{"core": "gatedgnn", **kwargs}, hidden=32, num_classes=10).parameters())

    ghn2, ghn1, mlp = size(), size(layernorm=False, scaling=False, max_hops=1), size(core="mlp")
    assert (ghn2 - ghn1, ghn2 - mlp) == (1_620_764 - 1_620_668, 1_620_764 - 1_614_396)
    assert abs(ghn1 / 1_620_668 - 1) <= 0.01 and abs(mlp / 1_614_396 - 1) <= 0.01


def test_ghn1_has_no_output_scaling(graphs):
    """Without scaling the decoder's raw outputs are the parameters: the same weights as GHN-2's
    before sqrt(beta / fan_in), norm scales and biases not squashed."""
    torch.manual_seed(0)
    scaled = GHN("gcn", hidden=32, num_classes=10)
    raw = GHN("gcn", hidden=32, num_classes=10, scaling=False)
    raw.load_state_dict(scaled.state_dict())
    graph = graphs[0]
    a, b = (g.predict(g.batch([graph]))[0] for g in (scaled, raw))
    from gnn_zoo.conv_decoder import weight_gain
    from gnn_zoo.layout import param_slots

    for slot in param_slots(raw.batch([graph]), 10):
        x, y = a[slot.name], b[slot.name]
        if slot.role == "norm_weight":
            torch.testing.assert_close(x, 2 * torch.sigmoid(0.5 * y))
        elif slot.role in ("vector", "classifier_bias"):
            torch.testing.assert_close(x, torch.tanh(0.2 * y))
        elif slot.role != "pos_enc":
            torch.testing.assert_close(x, y * (weight_gain(slot.shape) / slot.fan_in) ** 0.5)


def test_conv_decoder_takes_the_top_left_corner():
    """Smaller weights are corners of larger ones decoded from the same node: a Linear / 1x1
    weight is position (0, 0) of a 3x3 one, fewer channels are its first rows and columns."""
    from gnn_zoo.conv_decoder import ConvDecoder

    torch.manual_seed(0)
    dec, z = ConvDecoder(32, 10), torch.randn(2, 32)
    full = dec.decode_weights(z, (8, 8, 3, 3, False))
    torch.testing.assert_close(dec.decode_weights(z, (8, 8, 1, 1, False)), full[..., :1, :1])
    torch.testing.assert_close(dec.decode_weights(z, (3, 5, 2, 3, False)), full[:, :3, :5, :2, :3])
    assert dec.decode_weights(z, (64, 4, 1, 1, True)).shape == (2, 10, 4)  # classifier: classes x in


def test_conv_decoder_batches_slots_as_decoding_each_alone(graphs):
    """Decoding all slots of a batch together (1-D slots by role, weights by corner, shared
    corner copies) gives each slot's tensor and every gradient as decoding it alone."""
    from gnn_zoo.layout import param_slots

    torch.manual_seed(0)
    ghn = GHN("gcn", hidden=32, num_classes=10)
    batch = ghn.batch(graphs[:2])
    slots = param_slots(batch, 10)
    h = torch.randn(batch.num_nodes, 32)
    weights = [torch.randn(s.shape) for s in slots]

    def run(decode):
        ghn.zero_grad()
        h_ = h.clone().requires_grad_()
        out = decode(h_)
        sum((o * w).sum() for o, w in zip(out, weights)).backward()
        return out, h_.grad, [p.grad.clone() for p in ghn.decoder.parameters() if p.grad is not None]

    together = run(lambda h_: ghn.decoder(h_, slots))
    alone = run(lambda h_: [ghn.decoder(h_, [s])[0] for s in slots])
    assert len({s.role for s in slots}) >= 4 and len({ghn.decoder.corner(s) for s in slots if s.role == "weight"}) >= 3
    for a, b in zip(together[0], alone[0]):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(together[1], alone[1], atol=1e-5, rtol=1e-4)
    assert len(together[2]) == len(alone[2])
    for a, b in zip(together[2], alone[2]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_windows_gradient_is_slicing_gradient():
    """Windows' copies and their one-buffer backward equal autograd's own slicing (corners, and
    windows off the corner as GHN-3's centred kernels)."""
    from gnn_zoo.conv_decoder import windows

    torch.manual_seed(0)
    t = torch.randn(6, 5, 4, requires_grad=True)
    sizes = [(6, 5, 4), (2, 3, 4), (2, 3, 4), (1, 5, 1), ((1, 3), 5, (2, 3))]
    ours = windows(t, sizes)
    theirs = [t, t[:2, :3], t[:2, :3], t[:1, :5, :1], t[1:3, :5, 2:3]]
    probes = [torch.randn(o.shape) for o in ours]
    g1 = torch.autograd.grad(sum((o * p).sum() for o, p in zip(ours, probes)), t)[0]
    g2 = torch.autograd.grad(sum((o * p).sum() for o, p in zip(theirs, probes)), t)[0]
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(g1, g2)


def test_ghn2_output_scaling():
    """Weights x sqrt(beta / fan_in) with beta 1 for depthwise (3-D too) and 1 x k kernels, 2
    elsewhere; norm scales 2 sigmoid(p / 2); biases tanh(p / 5); a positional encoding (1, C, h, ...)
    unscaled only when h >= 11, as the reference (a DeepNets-1M ViT's 3 x 3 one on digits is scaled)."""
    from gnn_zoo.conv_decoder import output_scale, weight_gain

    assert weight_gain((64, 1, 3, 3)) == weight_gain((64, 64, 1, 7)) == weight_gain((64, 1, 5)) == 1.0
    assert weight_gain((64, 64, 7, 1)) == weight_gain((64, 64, 3, 3)) == weight_gain((10, 64)) == 2.0
    assert weight_gain((64, 64, 5)) == 2.0
    assert output_scale((1, 128, 3, 3), 128 * 9) == (2 / (128 * 9)) ** 0.5  # the reference's 0.042
    assert output_scale((1, 64, 14, 14), 64 * 196) == output_scale((1, 197, 768), 197 * 768) == 1.0
    net = torchvision.models.mobilenet_v3_small(num_classes=10)
    GHN("gcn", hidden=32, num_classes=10)(net)
    depthwise, dense = net.features[1].block[0][0].weight, net.features[0][0].weight  # 16x1x3x3, 16x3x3x3
    ratio = (depthwise.std() * (2 / 27) ** 0.5) / (dense.std() * (1 / 9) ** 0.5)  # undo the two scalings
    assert 0.2 < ratio < 5  # same order of magnitude once unscaled: the betas differ by design


def test_ghn_writes_into_a_module_without_breaking_it():
    torch.manual_seed(0)
    net = build_net(sample("val", 0), num_classes=10)
    net.train()
    net.classifier.bias.requires_grad_(False)
    buffers = {k: v.clone() for k, v in net.named_buffers()}
    ghn = GHN("gcn", hidden=32, num_classes=10)
    expected = ghn.predict(ghn.batch([to_graph(net)]))[0]
    assert ghn(net) is net
    for name, p in net.named_parameters():
        torch.testing.assert_close(p, expected[name], atol=1e-6, rtol=1e-6)
    assert net.training and not net.classifier.bias.requires_grad
    assert all(torch.equal(v, buffers[k]) for k, v in net.named_buffers())
    out = net(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10) and torch.isfinite(out).all()


def test_parameter_roles_and_normalisation():
    net = torchvision.models.resnet18(num_classes=10)
    GHN("mlp", hidden=32, num_classes=10)(net)
    assert ((net.bn1.weight > 0) & (net.bn1.weight < 2)).all()  # 2 sigmoid
    assert (net.bn1.bias.abs() < 1).all() and (net.fc.bias.abs() < 1).all()  # tanh
    assert len(set(net.fc.weight[:, 0].tolist())) == 10  # classifier rows differ per class
    # the fan-in scaling: a 3x3 conv over 512 channels gets smaller weights than one over 64
    assert net.layer4[1].conv1.weight.std() < net.layer1[0].conv1.weight.std() / 2


def test_user_module_with_unusual_layers():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 12, (1, 9), groups=3)
            self.attn = nn.MultiheadAttention(12, 3, batch_first=True)
            self.ln = nn.LayerNorm(12)
            self.pos = nn.Parameter(torch.zeros(1, 16, 12))
            self.head = nn.Linear(12, 5)

        def forward(self, x):
            t = self.conv(x).flatten(2).transpose(1, 2)[:, :16] + self.pos
            t = self.ln(self.attn(t, t, t)[0])
            return self.head(t.mean(1))

    net = Net()
    GHN("transformer", hidden=32, num_classes=5)(net)
    assert torch.isfinite(net(torch.randn(2, 3, 4, 12))).all()


@pytest.mark.parametrize("shape", [(7,), (130,), (64, 64), (100, 30), (3, 200, 5, 5), (65, 129, 1, 7), (1, 197, 768)])
def test_tile_into_equals_tile(shape):
    block = torch.randn(64) if len(shape) == 1 else torch.randn(64, 64, *shape[2:])
    dst = torch.empty(shape)
    tile_into(dst, block)
    assert torch.equal(dst, tile(block, shape))


def test_checkpoint_round_trip_and_corrupt_file(tmp_path, graphs):
    ghn = GHN("gatedgnn", hidden=32, num_classes=10, layers=2)
    ghn.save(tmp_path / "ghn.pt")
    again = GHN.load(tmp_path / "ghn.pt")
    assert again.config == ghn.config
    batch = ghn.batch(graphs[:1])
    loaded = again.predict(batch)[0]
    for name, value in ghn.predict(batch)[0].items():
        assert torch.equal(loaded[name], value)
    (tmp_path / "bad.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable GHN checkpoint"):
        GHN.load(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError):
        GHN.load(tmp_path / "missing.pt")


def test_node_shapes_of_parameters_and_pools(graphs):
    """A node's shape is its first parameter's (out, in, kh, kw); pool nodes carry GHN-2's
    (1, 1, 3, 3); other nodes without parameters (sum, concat, input, ...) none."""
    from deepnets1m import GraphBatch
    from deepnets1m.node_types import NODE_TYPE_ID
    from gnn_zoo.layout import node_shapes

    batch = GraphBatch.from_graphs(graphs)
    shapes, types = node_shapes(batch), batch.node_types
    pools = (types == NODE_TYPE_ID["max_pool"]) | (types == NODE_TYPE_ID["avg_pool"])
    assert pools.any() and (shapes[pools] == torch.tensor([1, 1, 3, 3])).all()
    for kind in ("sum", "concat", "input"):
        assert (shapes[types == NODE_TYPE_ID[kind]] == 0).all(), kind
    conv = graphs[-1].param_node[0]  # ResNet-18's stem conv, 64 x 3 x 7 x 7
    assert shapes[batch.ptr[-2] + conv].tolist() == [64, 3, 7, 7]


def test_shape_vocabulary_takes_the_nearest_entry_ties_to_the_lower():
    """The reference's lookup: the nearest entry, ties to the lower; channels 4-7 take 8, spatial 2
    takes 3; beyond the largest entry, the largest."""
    from gnn_zoo.ghn import ShapeEncoder

    enc = ShapeEncoder(32, 10, 11)
    channel = {c: enc.channel_values[enc.channel_lookup[c]].item() for c in (1, 2, 4, 7, 12, 13, 72, 100, 8192)}
    assert channel == {1: 1, 2: 1, 4: 8, 7: 8, 12: 10, 13: 10, 72: 64, 100: 96, 8192: 8192}
    spatial = {s: enc.spatial_values[enc.spatial_lookup[s]].item() for s in (1, 2, 4, 12, 13, 15, 16)}
    assert spatial == {1: 1, 2: 3, 4: 3, 12: 11, 13: 14, 15: 14, 16: 16}
    codes = enc(torch.tensor([[9000, 72, 2, 20], [8192, 64, 3, 16], [0, 0, 0, 0]]))
    assert torch.equal(codes[0], codes[1])  # 9000 -> 8192, 72 -> 64, 2 -> 3, 20 -> 16
    no_shape = torch.cat(
        [enc.channel.weight[-1], enc.channel.weight[-1], enc.spatial.weight[-1], enc.spatial.weight[-1]]
    )
    assert torch.equal(codes[2], no_shape)  # the last row of each table, as in the reference


def test_classifier_bias_is_decoded_from_its_own_node():
    from gnn_zoo.layout import param_slots

    ghn = GHN("gatedgnn", hidden=32, num_classes=10)
    graph = to_graph(torchvision.models.resnet18(num_classes=10))
    slots = {s.name: s for s in param_slots(ghn.batch([graph]), 10)}
    owner = dict(zip(graph.param_names, graph.param_node.tolist()))
    assert slots["fc.weight"].role == "classifier" and slots["fc.weight"].node == owner["fc.weight"]
    assert (
        slots["fc.bias"].role == "classifier_bias" and slots["fc.bias"].node == owner["fc.bias"] != owner["fc.weight"]
    )


class AuxNet(nn.Module):
    """A 10-class model with a 10-row layer near its input and an auxiliary 10-class head, run
    after the main one and returned beside the logits: only `head` is its classifier."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(10, 16)  # a 2-D weight ... with 16 rows
        self.table = nn.Linear(16, 10)  # 10 rows, early in the net
        self.body = nn.Linear(10, 32)
        self.head = nn.Linear(32, 10)
        self.aux = nn.Linear(32, 10)

    def forward(self, x):
        h = torch.relu(self.body(self.table(self.embed(x.flatten(1)[:, :10]))))
        logits = self.head(torch.relu(h))
        return logits, self.aux(h)


class ConvHeadNet(nn.Module):
    """A 10-row Linear near the input, a conv classification layer at the end."""

    def __init__(self):
        super().__init__()
        self.mix = nn.Linear(8, 10)
        self.head = nn.Conv2d(1, 10, 3)

    def forward(self, x):
        return self.head(self.mix(x)).mean((2, 3))


def test_classifier_is_the_weight_nearest_the_output():
    from gnn_zoo.layout import classifier_node

    graph = to_graph(AuxNet())
    names = {node: name for name, node in zip(graph.param_names, graph.param_node.tolist())}
    assert names[classifier_node(graph, 10)] == "head.weight"
    assert classifier_node(graph, 7) is None  # the nearest weight has 10 rows, not 7
    assert classifier_node(to_graph(ConvHeadNet()), 10) is None  # a conv head: the early Linear is not taken for it


def test_ghn2_decoder_widths_follow_the_hidden_size():
    """The conv decoder is 4 and 8 hidden wide, as the reference (128 and 256 at hidden 32)."""
    assert GHN("gcn", hidden=32, num_classes=10).decoder.widths == (128, 256)
    assert GHN("gcn", hidden=16, num_classes=10).decoder.widths == (64, 128)
