"""Speed of meta-training and evaluation (run with `tox -e bench`).

Reference: the GHN-2 code trains at 0.94 architectures/s on 8 archs x 64 CIFAR images (32x32)
on the 2-core dev machine; target >= 2x. Here the archs are capped at 1M parameters: uncapped
draws include msa ops attending over 1,024 positions, whose steps run for minutes on 2 cores.
The workloads are bench.harness.workloads', the ones, the same `bench profile` prints.
"""

import pytest

from bench.harness.workloads import GNNS, eval_round, peak_memory_resnet50, train_step_round


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "amp"])
@pytest.mark.parametrize("core", ["gatedgnn", "gcn", "mlp"])
def test_training_step_meta_batch_8(benchmark, core, amp, device):
    """One GHN-2-size training step through bench.harness.train.meta_loss: 8 train archs, 64 images 3x32x32."""
    round_ = train_step_round(core, device, amp=amp)
    benchmark.extra_info["archs_per_round"] = round_.items
    benchmark.pedantic(round_.run, rounds=4, warmup_rounds=1)


@pytest.mark.parametrize("core", ["gatedgnn", "mlp"])
def test_evaluation_throughput(benchmark, core, device):
    """Predict + accuracy on 128 images for 4 val architectures per round."""
    round_ = eval_round(core, device)
    benchmark.extra_info["archs_per_round"] = round_.items
    benchmark.pedantic(round_.run, rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("core", GNNS)
def test_peak_memory_predict_resnet50(benchmark, core):
    """Peak RSS over imports of predicting ResNet-50 in a fresh process (reference: +260 MiB);
    the figure is in extra_info["peak_mib"], the timing is the subprocess's and not of interest."""
    benchmark.extra_info["peak_mib"] = benchmark.pedantic(peak_memory_resnet50, args=(core,), rounds=1)
