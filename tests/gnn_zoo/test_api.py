"""The three-line Python API (gnn_zoo.load, ghn(model), gnn_zoo.calibrate_bn), as docs/gnn_zoo.md shows it."""

import warnings
from pathlib import Path

import pytest
import torch
import torchvision

import gnn_zoo
from gnn_zoo import GHN

REFERENCE = Path(__file__).parents[1] / "data" / "ghn2_reference" / "ghn2_cifar10_random.pt"


def test_three_lines_from_a_name_to_a_calibrated_model(tmp_path, monkeypatch):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    GHN("gcn", hidden=16, num_classes=10, layers=2).save(tmp_path / "checkpoints" / "gcn_pyg_digits_tiny_s0_abc.pt")
    ghn = gnn_zoo.load("gcn_pyg_digits_tiny_s0")  # a unique prefix of a name under $GHNBENCH_HOME/checkpoints
    model = ghn(torchvision.models.resnet18(num_classes=10))
    images = [torch.randn(8, 3, 32, 32) for _ in range(3)]
    assert gnn_zoo.calibrate_bn(model, images) == 3 and not model.training
    assert abs(model.bn1.running_mean).sum() > 0 and model.bn1.num_batches_tracked == 3
    logits = model(torch.randn(4, 3, 32, 32))
    assert logits.shape == (4, 10) and logits.abs().max() < 1e3  # uncalibrated: ~1e5 (issue 28)


def test_load_names_the_candidates_when_a_name_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="train one with `bench train`"):
        gnn_zoo.load("nothing")
    for seed in (0, 1):
        GHN("gcn", hidden=16, layers=2).save(tmp_path / "checkpoints" / f"gcn_s{seed}.pt")
    with pytest.raises(FileNotFoundError, match="2 checkpoints start with it: gcn_s0, gcn_s1"):
        gnn_zoo.load("gcn")


def test_load_reads_the_reference_codes_checkpoints():
    ghn = gnn_zoo.load(REFERENCE)
    assert ghn.config["core"] == "gatedgnn" and ghn.num_classes == 10


def test_ghn_warns_about_another_head_and_uncalibrated_batchnorm():
    ghn = GHN("gcn", hidden=16, layers=2, num_classes=10)
    with pytest.warns(UserWarning, match="last layer has 1000 outputs, but this GHN was trained for 10 classes"):
        ghn(torchvision.models.resnet18())
    with pytest.warns(UserWarning, match="calibrate them with gnn_zoo.calibrate_bn"):
        ghn(torchvision.models.resnet18(num_classes=10).eval())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ghn(torchvision.models.resnet18(num_classes=10))  # train mode, 10 classes: nothing to say
