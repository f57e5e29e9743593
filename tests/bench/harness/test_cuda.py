"""The CUDA paths (marker `cuda`): run by benchmarks/gpu_check.sh on a machine with a GPU; here,
without one, each test skips and says so."""

import pytest
import torch

from bench.config.presets import get_preset
from bench.harness.data import load_data
from bench.harness.train import TrainSpec, train
from deepnets1m import build_net, sample, spec_graph
from gnn_zoo import GHN

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA GPU here: benchmarks/gpu_check.sh runs these on a GPU machine"
    ),
]


@pytest.mark.parametrize("core", ["gatedgnn", "gcn", "transformer"])
def test_prediction_on_the_gpu_matches_the_cpu(core):
    torch.manual_seed(0)
    ghn = GHN(core, hidden=32, num_classes=10).eval()
    graphs = [spec_graph(sample("val", i)) for i in range(3)]
    cpu = ghn.predict(ghn.batch(graphs))
    gpu = ghn.cuda().predict(ghn.batch(graphs))
    for a, b in zip(cpu, gpu):
        for name in a:
            assert torch.allclose(a[name], b[name].cpu(), rtol=1e-3, atol=1e-4), name


def test_a_module_gets_its_parameters_on_the_gpu():
    ghn = GHN("gatedgnn", hidden=32, num_classes=10).cuda()
    net = ghn(build_net(sample("val", 0)).cuda())
    assert all(p.is_cuda and torch.isfinite(p).all() for p in net.parameters())
    assert net(torch.randn(2, 3, 32, 32, device="cuda")).shape == (2, 10)


@pytest.mark.parametrize("amp", [False, True])
def test_training_on_the_gpu_writes_a_checkpoint_the_cpu_loads(tmp_path, amp):
    preset = get_preset("tiny", steps=3, meta_batch=2, batch_size=16, hidden=16, ckpt_every=3, amp=amp)
    report = train(
        TrainSpec("gcn", "pyg", "digits", preset, seed=0), load_data("digits"), tmp_path, device="cuda", progress=False
    )
    assert report.steps == 3 and report.final_loss < 10
    ghn = GHN.load(report.checkpoint)
    assert next(ghn.parameters()).device.type == "cpu"


def test_property_labels_on_the_gpu(tmp_path):
    from bench.harness.properties import PROPERTIES, LabelRecipe, labels

    recipe = LabelRecipe(steps=2, max_steps=3, eval_images=60, eval_batch=60)
    rows, _, _ = labels(load_data("digits"), "digits", recipe, 4, tmp_path, torch.device("cuda"), progress=False)
    assert all(set(r) == set(PROPERTIES) and r["inference_ms"] > 0 and 0 <= r["accuracy"] <= 100 for r in rows)
