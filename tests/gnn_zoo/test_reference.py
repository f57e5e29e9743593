"""The reference GHN-2 code's checkpoint format, loaded into our GHN, predicts what the reference
predicts with it (tests/data/ghn2_reference: random GHN-2 weights and the reference's predictions
for torchvision's ResNet-50 and ResNet-18, made with the reference code)."""

import json
from pathlib import Path

import pytest
import torch
import torchvision

from gnn_zoo.reference import from_reference, reference_name

DATA = Path(__file__).parents[1] / "data" / "ghn2_reference"


@pytest.fixture(scope="module")
def ghn():
    return from_reference(DATA / "ghn2_cifar10_random.pt").eval()


@pytest.mark.parametrize("model", ["resnet50", "resnet18"])
def test_reference_checkpoint_predicts_the_reference_parameters(ghn, model):
    expected = json.loads((DATA / "ghn2_cifar10_random_predictions.json").read_text())[model]
    net = ghn(getattr(torchvision.models, model)(num_classes=10))
    params = dict(net.named_parameters())
    assert set(params) == set(expected)
    off = []
    for name, ref in expected.items():
        p = params[name].detach().double()
        assert list(p.shape) == ref["shape"], name
        sumsq = p.square().sum().item()
        if (
            abs(sumsq - ref["sumsq"]) > 1e-5 * ref["sumsq"]
            or abs(p.sum().item() - ref["sum"]) > 1e-5 * ref["sumsq"] ** 0.5 * p.numel() ** 0.5
        ):
            off.append((name, p.sum().item(), ref["sum"], sumsq, ref["sumsq"]))
    assert not off, off[:5]


def test_reference_names_are_all_known():
    state = torch.load(DATA / "ghn2_cifar10_random.pt", weights_only=False)["state_dict"]
    assert len({reference_name(k) for k in state}) == len(state) == 31
    with pytest.raises(KeyError, match="unknown reference GHN weight"):
        reference_name("gnn.something_new")


def test_reference_loader_refuses_our_own_checkpoints(tmp_path):
    from gnn_zoo import GHN

    GHN("gcn", hidden=16).save(tmp_path / "ours.pt")
    with pytest.raises((ValueError, KeyError)):
        from_reference(tmp_path / "ours.pt")


def test_the_cli_predicts_and_evaluates_with_a_reference_checkpoint(tmp_path, monkeypatch, capsys):
    """`bench predict --reference-ckpt` and `bench eval --reference-ckpt`: the official GHN-2's
    format in the CLI; its records are `ghn2-official (predictor)` rows of the preset's table."""
    from bench.commands.cli import main
    from leaderboard.render import render

    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    fast = ["--eval-nets", "2", "--eval-images", "40", "--sgd-steps", "1", "--sgd-nets", "1", "--no-progress"]
    ckpt = str(DATA / "ghn2_cifar10_random.pt")
    assert (
        main(["predict", "--reference-ckpt", ckpt, "--model", "resnet18", "--eval-images", "40", "--no-progress"]) == 0
    )
    assert "predicted in" in capsys.readouterr().out and not (tmp_path / "checkpoints").exists()
    assert main(["eval", "--reference-ckpt", ckpt, "--split", "val", *fast]) == 0
    assert "record:" in capsys.readouterr().out
    md = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False).text["md"]
    assert "| ghn2-official (predictor) |" in md
