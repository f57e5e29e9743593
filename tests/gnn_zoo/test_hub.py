"""GHN-3 checkpoints in the official hub format (tests/data/ghn3_reference, made with the
reference GHN-3 code) load into our GHN and predict, for every listed net, what the reference
predicts with them."""

import collections
import hashlib
import json
import pickle
from pathlib import Path

import networkx as nx
import pytest
import torch
import torchvision
from networkx.algorithms.isomorphism import DiGraphMatcher

from deepnets1m.named import DEEPNETS_VIT
from deepnets1m.net import build_net
from deepnets1m.spec import ArchSpec
from deepnets1m.trace import to_graph
from gnn_zoo import load
from gnn_zoo.hub import from_hub, hub_config, read_hub_state

DATA = Path(__file__).parents[1] / "data" / "ghn3_reference"
CONTENT_SHA256 = {
    "ghn3tm8_random.pt": "87354964f8149b3f5472ce1b7a8afb4288c093048b679b2d67bbdd0f5d5ba6e8",
    "ghn3_hid32_noised.pt": "285dee385458a009785adfd265a835020925e8398af2a922b1aec2e9cb139637",
}
# DARTS (Liu et al., 2019) as ppuda's genotypes.DARTS, in our ArchSpec terms; ppuda's Network widens x2 at reductions
DARTS = ArchSpec(
    normal=(
        (("sep_conv_3x3", 0), ("sep_conv_3x3", 1)),
        (("sep_conv_3x3", 0), ("sep_conv_3x3", 1)),
        (("sep_conv_3x3", 1), ("skip_connect", 0)),
        (("skip_connect", 0), ("dil_conv_3x3", 2)),
    ),
    reduce=(
        (("max_pool_3x3", 0), ("max_pool_3x3", 1)),
        (("skip_connect", 2), ("max_pool_3x3", 1)),
        (("max_pool_3x3", 0), ("skip_connect", 2)),
        (("skip_connect", 2), ("max_pool_3x3", 1)),
    ),
    concat=(0, 1, 2, 3),
    C=48,
    num_cells=14,
    stem_type=1,
    C_mult=2,
)
DEEPNETS = {"deepnets_vit": DEEPNETS_VIT, "darts_imagenet": DARTS}


@pytest.fixture(scope="module")
def tm8():
    return load(DATA / "ghn3tm8_random.pt")


def content_sha256(state: dict) -> str:
    digest = hashlib.sha256()
    for key, value in state.items():
        digest.update(key.encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("name", sorted(CONTENT_SHA256))
def test_hub_files_read_whole_and_their_configuration_from_the_keys(name):
    state = read_hub_state(DATA / name)
    assert content_sha256(state) == CONTENT_SHA256[name]
    config = hub_config(state)
    hidden = 64 if "tm8" in name else 32
    assert {k: config[k] for k in ("core", "hidden", "layers", "heads", "max_side", "num_classes", "decoder")} == {
        "core": "transformer",
        "hidden": hidden,
        "layers": 3,
        "heads": 8,
        "max_side": 16,
        "num_classes": 1000,
        "decoder": "ghn3",
    }
    assert sum(v.numel() for v in state.values()) == (6_906_632 if hidden == 64 else 1_540_464)


def close(value: torch.Tensor, expected: dict) -> list[str]:
    """What differs from the reference's statistics beyond float32 rounding (1e-5, the fixture's tolerances)."""
    x = value.detach().double().flatten()
    weights = (torch.arange(x.numel(), dtype=torch.float64) % 1009 + 1) / 1009
    rms = (expected["sumsq"] / max(x.numel(), 1)) ** 0.5
    checks = {
        "shape": list(value.shape) == expected["shape"] or "without_class_token_row" in expected,
        "sumsq": abs(float(x.square().sum()) - expected["sumsq"]) <= 1e-5 * expected["sumsq"],
        "sum": abs(float(x.sum()) - expected["sum"]) <= 1e-5 * expected["abssum"],
        "wsum": abs(float((x * weights).sum()) - expected["wsum"]) <= 1e-5 * expected["abssum"],
        "first8": all(abs(a - b) <= 1e-4 * rms for a, b in zip(x[:8].tolist(), expected["first8"])),
    }
    return [k for k, ok in checks.items() if not ok]


def predicted_stats(expected: dict, params: dict[str, torch.Tensor], names: dict[str, str]) -> dict[str, list[str]]:
    """For each tensor the reference sets: what of ours differs from it (names: theirs -> ours)."""
    off = {}
    for theirs, stats in expected["params"].items():
        if not stats["set_by_ghn"]:
            continue
        value = params[names.get(theirs, theirs)]
        if "without_class_token_row" in stats:  # a ViT's class-token row is drawn at random
            value, stats = value[:, 1:], {**stats, **stats["without_class_token_row"]}
        if bad := close(value, stats):
            off[theirs] = bad
    return off


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "vit_b_16"])
def test_ghn3_predicts_torchvision_nets_as_the_reference(tm8, arch):
    expected = json.loads((DATA / f"expected_{arch}.json").read_text())
    net = tm8(getattr(torchvision.models, arch)(num_classes=1000))
    params = dict(net.named_parameters())
    set_by_ghn = {k for k, v in expected["params"].items() if v["set_by_ghn"]}
    assert len(set_by_ghn) == expected["n_tensors_set_by_ghn"] and set(params) >= set_by_ghn
    assert predicted_stats(expected, params, {}) == {}
    if arch == "vit_b_16":  # the class token is no node of GHN-3's graph: it keeps torchvision's init (zeros)
        assert not params["class_token"].any()


def reference_names(ours, expected: dict) -> dict[str, str]:
    """The reference's parameter names -> ours, by an isomorphism of our graph of `ours` and the
    reference's (node types and parameter shapes must match: asserting it checks that the graphs
    are the same); a norm's bias goes with its weight."""
    graph, ref = to_graph(ours), expected["graph"]
    a, b = nx.DiGraph(), nx.DiGraph()
    types = graph.type_names()
    for node in range(graph.num_nodes):
        params = graph.params_of(node)
        a.add_node(node, label=(types[node], tuple(params[0][1]) if params else None), params=[p for p, _ in params])
    a.add_edges_from(map(tuple, graph.edge_index.t().tolist()))
    owned = {p["node"]: p for p in ref["param_nodes"] if p["decoder_key"] is not None}
    for node, _, kind, _ in ref["nodes"]:
        b.add_node(node, label=(kind, tuple(owned[node]["sz"]) if node in owned else None))
    b.add_edges_from(map(tuple, ref["edges_1hop"]))
    matcher = DiGraphMatcher(a, b, node_match=lambda x, y: x["label"] == y["label"])
    assert matcher.is_isomorphic(), "our graph is not the reference's"
    names = {}
    for node, theirs in matcher.mapping.items():
        if theirs in owned:
            weight = owned[theirs]["param_name"]
            names[weight] = a.nodes[node]["params"][0]
            if len(a.nodes[node]["params"]) == 2:
                names[weight.rsplit(".", 1)[0] + ".bias"] = a.nodes[node]["params"][1]
    return names


@pytest.mark.parametrize("arch", sorted(DEEPNETS))
def test_ghn3_predicts_deepnets_nets_as_the_reference(tm8, arch):
    expected = json.loads((DATA / f"expected_{arch}.json").read_text())
    net = build_net(DEEPNETS[arch], num_classes=1000, image_size=224)
    assert sum(p.numel() for p in net.parameters()) == expected["n_params_model"]
    names = reference_names(net, expected)
    params = dict(tm8(net).named_parameters())
    assert len(names) == expected["n_tensors_set_by_ghn"]
    assert predicted_stats(expected, params, names) == {}


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_every_tensor_of_the_noised_file_counts(arch):
    expected = json.loads((DATA / "expected_hid32_noised.json").read_text())[arch]
    net = from_hub(DATA / "ghn3_hid32_noised.pt")(getattr(torchvision.models, arch)(num_classes=1000))
    assert predicted_stats(expected, dict(net.named_parameters()), {}) == {}


def write_hub_file(state: dict, path: Path) -> Path:
    with open(path, "wb") as f:
        pickle.dump(collections.OrderedDict(state), f)
    return path


def test_a_hub_file_missing_a_tensor_or_holding_code_is_refused(tmp_path):
    state = read_hub_state(DATA / "ghn3_hid32_noised.pt")
    partial = {k: v for k, v in state.items() if k != "gnn.1.attn.to_out.0.bias"}
    with pytest.raises(ValueError, match="lacks weights"):
        from_hub(write_hub_file(partial, tmp_path / "partial.pt"))
    with pytest.raises(ValueError, match="not a GHN checkpoint"):
        from_hub(write_hub_file({"embed.weight": torch.zeros(1), "x": print}, tmp_path / "code.pt"))


def test_ghn2_files_in_the_hub_format_are_ghn2(tmp_path):
    """A GHN-2 state dict in the hub's format (keys `gnn.gru.`) is our GHN-2: it predicts what the
    reference GHN-2 predicts with those weights (tests/data/ghn2_reference)."""
    ghn2 = Path(__file__).parents[1] / "data" / "ghn2_reference"
    state = torch.load(ghn2 / "ghn2_cifar10_random.pt", weights_only=False)["state_dict"]
    ghn = load(write_hub_file(state, tmp_path / "ghn2.pt"))
    assert ghn.config["core"] == "gatedgnn" and "decoder" not in ghn.config
    expected = json.loads((ghn2 / "ghn2_cifar10_random_predictions.json").read_text())["resnet18"]
    for name, p in ghn(torchvision.models.resnet18(num_classes=10)).named_parameters():
        assert abs(p.double().square().sum().item() - expected[name]["sumsq"]) <= 1e-5 * expected[name]["sumsq"], name


def test_nets_predicted_together_are_predicted_as_alone(tm8):
    """Unlike the reference (which reads every net after the first at shifted rows of its padded
    batch), a multi-net call predicts each net as a single-net call does."""
    nets = [torchvision.models.resnet18(num_classes=1000), torchvision.models.resnet50(num_classes=1000)]
    with torch.no_grad():
        together = tm8.predict(tm8.batch([to_graph(n) for n in nets]))
        alone = [tm8.predict(tm8.batch([to_graph(n)]))[0] for n in nets]
    for both, one in zip(together, alone):
        assert both.keys() == one.keys()
        for name in one:
            torch.testing.assert_close(both[name], one[name], rtol=1e-5, atol=1e-7)


def test_the_cli_predicts_and_evaluates_with_a_hub_file(tmp_path, monkeypatch, capsys):
    """`bench predict/eval --reference-ckpt` take the GHN-3 hub's files; their records are
    `ghn3-official (predictor)` rows."""
    from bench.commands.cli import main
    from leaderboard.render import render

    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    ckpt = str(DATA / "ghn3_hid32_noised.pt")
    assert (
        main(["predict", "--reference-ckpt", ckpt, "--model", "resnet18", "--eval-images", "40", "--no-progress"]) == 0
    )
    assert "predicted in" in capsys.readouterr().out
    assert (
        main(
            [
                "eval",
                "--reference-ckpt",
                ckpt,
                "--split",
                "val",
                "--eval-nets",
                "2",
                "--eval-images",
                "40",
                "--sgd-steps",
                "0",
                "--no-progress",
            ]
        )
        == 0
    )
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]
    assert "| ghn3-official (predictor) |" in md
    assert main(["eval", "--reference-ckpt", str(tmp_path / "missing.pt"), "--split", "val"]) == 2
    assert "huggingface.co/SamsungSAILMontreal/ghn3" in capsys.readouterr().err
