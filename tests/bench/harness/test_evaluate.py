import math

import pytest
import torch

from bench.config.presets import get_preset
from bench.harness.data import load_data
from bench.harness.evaluate import accuracy, evaluate, summary
from bench.harness.nets import make_net
from deepnets1m import sample
from gnn_zoo import GHN
from gnn_zoo.api import batch_stat_mode


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


def test_summary_statistics():
    s = summary([10.0, 20.0, 30.0])
    assert s["mean"] == 20.0 and s["max"] == 30.0 and s["n"] == 3
    assert math.isclose(s["stderr"], 10.0 / math.sqrt(3))
    assert summary([5.0])["stderr"] == 0.0


def test_batch_stat_mode_uses_batch_statistics_and_nothing_random():
    net = make_net(sample("ood-torchvision", 2), 10, 3, 32)  # efficientnet: dropout + stochastic depth
    batch_stat_mode(net)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.training for m in bns)
    assert not any(m.training for m in net.modules() if isinstance(m, torch.nn.Dropout))
    x = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(x), net(x))


def test_evaluate_rows_and_determinism(digits):
    preset = get_preset("tiny", eval_nets=3, eval_images=50, eval_batch=50, sgd_steps=2, sgd_nets=2)
    ghn = GHN("mlp", hidden=16, num_classes=10)
    a = evaluate(ghn, "ood-bnfree", digits, preset, seed=1, progress=False)
    b = evaluate(ghn, "ood-bnfree", digits, preset, seed=1, progress=False)
    assert [r["arch"] for r in a.rows] == ["ood-bnfree/0", "ood-bnfree/1", "ood-bnfree/2"]
    for ra, rb in zip(a.rows, b.rows):
        for key in ("ghn", "random_init", "params"):
            assert ra[key] == rb[key]
    assert [("sgd" in r) for r in a.rows] == [True, True, False]
    metrics = a.metrics()
    assert set(metrics) == {"ghn", "random_init", "sgd", "ghn_top5", "random_init_top5", "sgd_top5"}
    assert metrics["sgd"]["n"] == metrics["sgd_top5"]["n"] == 2
    assert all(r["ghn"] <= r["ghn_top5"] and r["random_init"] <= r["random_init_top5"] for r in a.rows)
    assert all(0 <= r["ghn"] <= 100 and r["predict_ms"] > 0 for r in a.rows)


def test_predefined_models_run_on_upsampled_digits(digits):
    preset = get_preset("tiny", eval_nets=1, eval_images=20, eval_batch=20, sgd_steps=0)
    result = evaluate(GHN("gcn", hidden=16, num_classes=10), "ood-predefined", digits, preset, progress=False)
    assert result.rows[0]["arch"] == "resnet50" and "sgd" not in result.rows[0]


def test_accuracy_counts_correct_predictions():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x[:, 0, 0, 0].long(), 3).float()

    x = torch.zeros(4, 1, 2, 2)
    x[:, 0, 0, 0] = torch.tensor([0, 1, 2, 2])
    assert accuracy(Fixed(), [(x, torch.tensor([0, 1, 2, 0]))], 2, torch.device("cpu")) == (75.0, 100.0)


def test_top5_counts_the_label_among_the_five_highest_logits():
    class Ranked(torch.nn.Module):
        def forward(self, x):
            return torch.arange(7, 0, -1.0).expand(len(x), 7)  # class 0 highest, class 6 lowest

    labels = torch.tensor([0, 4, 5, 6])  # ranks 1, 5, 6, 7
    assert accuracy(Ranked(), [(torch.zeros(4, 1, 2, 2), labels)], 2, torch.device("cpu")) == (25.0, 50.0)


def test_the_seed_changes_no_evaluated_net_or_image(digits, monkeypatch):
    """Runs of different seeds pair net by net and image by image: the same GHN scores the same
    at every seed, noisy eval images included (only the random-init baseline has its own seed)."""
    import bench.harness.evaluate as ev

    preset = get_preset("tiny", eval_nets=2, eval_images=40, eval_batch=40, sgd_steps=0, eval_noise=0.3)
    ghn = GHN("mlp", hidden=16, num_classes=10)
    seen = []
    monkeypatch.setattr(ev, "accuracy", lambda net, images, *a: seen.append(images) or real(net, images, *a))
    real = accuracy
    a = evaluate(ghn, "val", digits, preset, seed=0, progress=False)
    b = evaluate(ghn, "val", digits, preset, seed=7, progress=False)
    assert [r["ghn"] for r in a.rows] == [r["ghn"] for r in b.rows]
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(seen[0], seen[-1]))  # the same noisy images


def test_predicting_from_the_spec_graph_equals_tracing_the_net(digits, monkeypatch):
    """evaluate predicts from the graph it built from the spec (no second trace of the net):
    the same accuracies as tracing each net."""
    import bench.harness.evaluate as ev

    preset = get_preset("tiny", eval_nets=3, eval_images=40, eval_batch=40, sgd_steps=0)
    ghn = GHN("gcn", hidden=16, num_classes=10)
    fast = evaluate(ghn, "ood-deep", digits, preset, progress=False)
    monkeypatch.setattr(ev, "owns_params", lambda graph, net: False)  # every net traced again
    traced = evaluate(ghn, "ood-deep", digits, preset, progress=False)
    assert [r["ghn"] for r in fast.rows] == [r["ghn"] for r in traced.rows]
