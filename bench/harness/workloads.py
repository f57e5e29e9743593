"""Speed workloads shared by the pytest-benchmark suite (`benchmarks/`) and `bench profile`.

Each workload is set up once (models built, caches filled) and returns a `Round`: a callable
doing one timed round of work and the number of items (architectures, graphs, reads) it
handles. On CUDA a round ends with `torch.cuda.synchronize()`, so timings include the GPU
work.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import torch

from gnn_zoo import available

GNNS = tuple(available())  # every registered core, in registry order


def installed_backends() -> list[str]:
    """pyg, and dgl where it imports (the `dgl` environments)."""
    from gnn_zoo import BackendUnavailable, require_backend

    try:
        require_backend("dgl")
    except BackendUnavailable:
        return ["pyg"]
    return ["pyg", "dgl"]


Entry = Callable[[list[str]], int]  # the `bench` command line's main: argv -> exit status


@dataclass
class Round:
    """One timed round of a workload and how many items it processes."""

    run: Callable[[], object]
    items: int = 1


@dataclass(frozen=True)
class Reference:
    """A reference figure (higher_better: a rate, else a time or size) and the target ratio."""

    value: float
    unit: str
    target_ratio: float
    higher_better: bool


def synced(fn: Callable[[], object], device: torch.device) -> Callable[[], object]:
    """`fn`, followed by a CUDA synchronisation when it runs on a GPU."""
    if device.type != "cuda":
        return fn

    def run():
        out = fn()
        torch.cuda.synchronize(device)
        return out

    return run


def generate_round(n: int = 20) -> Round:
    """Sample and build the graph of `n` train architectures never seen before (one process)."""
    from deepnets1m import sample, spec_graph

    fresh = itertools.count(10_000)
    return Round(lambda: [spec_graph(sample("train", next(fresh))) for _ in range(n)], n)


def cached_read_round(folder: Path, n: int = 1000) -> Round:
    """Read one random architecture (spec + graph) from a cache of `n` train graphs in `folder`."""
    from deepnets1m.cache import GraphCache
    from deepnets1m.generate import generate

    cache = GraphCache(generate("train", n, folder, progress=False).folder)
    rng = random.Random(0)
    return Round(lambda: cache.get(rng.randrange(len(cache))))


def torchvision_graph_round(name: str) -> Round:
    """to_graph (torch.fx trace + conversion) of a torchvision model."""
    import torchvision

    from deepnets1m import to_graph

    model = getattr(torchvision.models, name)()
    return Round(lambda: to_graph(model))


DEEPNETS_SIZES = {"small": 0.1, "median": 0.5, "large": 0.9}  # quantiles of node counts


def deepnets_graph_round(size: str) -> Round:
    """to_graph (the general tracer, not the spec short-cut) of a DeepNets-1M train net at a
    quantile of node counts among the first 100 train architectures."""
    from deepnets1m import build_net, sample, spec_graph, to_graph

    specs = sorted((sample("train", i) for i in range(100)), key=lambda s: spec_graph(s).num_nodes)
    spec = specs[int(DEEPNETS_SIZES[size] * (len(specs) - 1))]
    with torch.device("meta"):
        net = build_net(spec)
    return Round(lambda: to_graph(net))


def protocol_ghn(core: str, backend: str = "pyg", num_classes: int = 10, image_size: int = 32):
    """The GHN `bench run` trains around `core` (GHN-2 size, protocol v1's core setting), fresh,
    for images of `image_size` (224: GHN-2-ImageNet's decoder)."""
    from bench.config.presets import get_preset
    from bench.harness.data import ImageData
    from bench.harness.train import TrainSpec, build_ghn

    spec = TrainSpec(core, backend, "profile", get_preset("tiny"), seed=0)
    return build_ghn(spec, ImageData("profile", num_classes, 3, image_size), torch.device("cpu"))


def predict_resnet50_round(core: str, backend: str, device: torch.device) -> Round:
    """Graph construction + GHN forward + writing all 25.6M parameters of ResNet-50 (GHN-2-ImageNet
    size, the core as protocol v1 sets it up)."""
    import torchvision

    model = torchvision.models.resnet50().to(device)
    ghn = protocol_ghn(core, backend, num_classes=1000, image_size=224).to(device).eval()
    return Round(synced(lambda: ghn(model), device))


def median_val_graph():
    """The val graph of median node count among the first 21 val nets."""
    from deepnets1m import sample, spec_graph

    graphs = sorted((spec_graph(sample("val", i)) for i in range(21)), key=lambda g: g.num_nodes)
    return graphs[len(graphs) // 2]


def core_forward_round(core: str, backend: str, device: torch.device) -> Round:
    """The GNN core alone (protocol v1's setting, hidden 32) on a median DeepNets-1M val graph
    (conversions cached, as in training)."""
    ghn = protocol_ghn(core, backend).to(device)
    batch = ghn.batch([median_val_graph()]).to(device)
    x = torch.randn(batch.num_nodes, 32, device=device)

    def run():
        with torch.no_grad():
            return ghn.core(x, batch)

    return Round(synced(run, device))


def training_setup(
    core: str, device: torch.device, meta_batch: int, max_params: float, channels: int = 3, size: int = 32
):
    """A GHN-2-size GHN (hidden 32) and its Adam (as bench.harness.train makes it for GHN-2's recipe), 10-class data of
    `channels` x `size` x `size` images (default CIFAR-10's), one batch of 64 images, and an endless
    cycle over the architectures of training steps 0-3 (`meta_batch` each)."""
    from bench.config.presets import PRESETS
    from bench.harness.data import ImageData
    from bench.harness.train import make_optimizer, train_architectures

    ghn = protocol_ghn(core).to(device)
    opt = make_optimizer(ghn, PRESETS["paper"])
    shape = ImageData("shaped", num_classes=10, in_channels=channels, image_size=size)
    x, y = torch.randn(64, channels, size, size, device=device), torch.randint(0, 10, (64,), device=device)
    archs = itertools.cycle([train_architectures(0, step, meta_batch, max_params) for step in range(4)])
    return ghn, opt, shape, x, y, archs


def train_step_round(
    core: str, device: torch.device, amp: bool = False, meta_batch: int = 8, max_params: float = 1e6
) -> Round:
    """One GHN-2-size training step through the training code itself (bench.harness.train's
    meta_loss, mixed precision as `--amp`): `meta_batch` train architectures (<= `max_params`
    parameters) predicted and run on 64 images 3x32x32 with a CIFAR-10 head, one Adam step.
    Round r uses the architectures of training step r % 4, so rounds repeat the same work."""
    from bench.harness.train import meta_loss, mixed_precision

    ghn, opt, shape, x, y, archs = training_setup(core, device, meta_batch, max_params)

    def step():
        with mixed_precision(amp, device):
            loss = meta_loss(ghn, ghn.predict, next(archs), x, y, shape)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ghn.parameters(), 5.0)
        opt.step()

    return Round(synced(step, device), meta_batch)


PHASES = ("build nets + graphs", "GHN forward", "nets forward", "nets backward", "GHN backward", "optimizer")


# the steps `bench profile --phases` times: GHN-2's (8 nets, CIFAR-10-sized) and the tiny preset's
# (1 net of <= 5e5 parameters, digits-sized 1x8x8 images)
class StepShape(TypedDict):
    """The shape of a timed training step: architectures, their parameter cap, images."""

    meta_batch: int
    max_params: float
    channels: int
    size: int


PHASE_STEPS: dict[str, StepShape] = {
    "ghn2": StepShape(meta_batch=8, max_params=1e6, channels=3, size=32),
    "tiny": StepShape(meta_batch=1, max_params=5e5, channels=1, size=8),
    "rank": StepShape(meta_batch=4, max_params=5e5, channels=1, size=8),
}


def train_step_phases(
    core: str,
    device: torch.device,
    amp: bool = True,
    repeat: int = 4,
    meta_batch: int = 8,
    max_params: float = 1e6,
    channels: int = 3,
    size: int = 32,
) -> dict[str, float]:
    """Median seconds of each phase of train_step_round's step (after one warm-up round): the
    backward pass is split at the predicted parameters, the nets' part ending there and the
    GHN's starting there (the same gradients as one backward call)."""
    from bench.harness.train import build_meta_batch, mixed_precision, nets_loss

    ghn, opt, shape, x, y, archs = training_setup(core, device, meta_batch, max_params, channels, size)
    times: dict[str, list[float]] = {p: [] for p in PHASES}
    marks: list[float] = []

    def mark():
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        marks.append(time.perf_counter())

    for r in range(repeat + 1):
        specs = next(archs)
        marks.clear()
        mark()
        with mixed_precision(amp, device):
            graphs, nets = build_meta_batch(specs, shape, device)
            mark()
            preds = ghn.predict(ghn.batch(graphs))
            mark()
            loss = nets_loss(nets, preds, specs, x, y, shape)
            mark()
        predicted = [t for p in preds for t in p.values() if t.requires_grad]
        grads = torch.autograd.grad(loss, predicted, allow_unused=True)
        mark()
        opt.zero_grad(set_to_none=True)
        used = [(t, g) for t, g in zip(predicted, grads) if g is not None]
        torch.autograd.backward([t for t, _ in used], [g for _, g in used])
        mark()
        torch.nn.utils.clip_grad_norm_(ghn.parameters(), 5.0)
        opt.step()
        mark()
        if r:  # round 0 warms up
            for phase, t0, t1 in zip(PHASES, marks, marks[1:]):
                times[phase].append(t1 - t0)
    return {p: statistics.median(v) for p, v in times.items()}


def format_phases(core: str, phases: dict[str, float], meta_batch: int = 8) -> str:
    """A training step's phases as a text table: seconds and share of the step."""
    total = sum(phases.values())
    lines = [f"training step phases [{core}], {meta_batch} archs (median of each phase):"]
    lines += [f"  {p:22} {s:8.3f} s {100 * s / total:5.1f}%" for p, s in phases.items()]
    lines.append(f"  {'step':22} {total:8.3f} s = {meta_batch / total:.2f} arch/s")
    return "\n".join(lines)


def eval_round(core: str, device: torch.device, nets: int = 4) -> Round:
    """Evaluation throughput: predict the parameters of `nets` val architectures and measure
    their accuracy on 128 images 3x32x32 (two BN batches of 64)."""
    from bench.harness.evaluate import accuracy
    from bench.harness.nets import make_net
    from deepnets1m import sample

    ghn = protocol_ghn(core).to(device).eval()
    images = [(torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))) for _ in range(2)]
    start = itertools.count(0, nets)

    def run():
        first = next(start) % 400
        for i in range(first, first + nets):
            net = make_net(sample("val", i), 10, 3, 32, device, init=False)
            ghn(net)
            accuracy(net, images, 32, device)

    return Round(synced(run, device), nets)


PEAK_MEMORY_SCRIPT = """
import json, resource, sys
import torch, torchvision
from bench.harness.workloads import protocol_ghn
def rss():  # peak RSS of this process image (VmHWM: unlike ru_maxrss, not inherited across exec)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = rss()
with torch.device("meta"):
    model = torchvision.models.resnet50()
model = model.to_empty(device="cpu")  # weights to be predicted: no random init first
ghn = protocol_ghn(sys.argv[1], sys.argv[2], num_classes=1000, image_size=224).eval()
ghn(model)
print(json.dumps({"before_mib": before, "after_mib": rss()}))
"""


def peak_memory_resnet50(core: str = "gatedgnn", backend: str = "pyg") -> float:
    """Peak resident memory (MiB) of predicting ResNet-50's parameters in a fresh process, over
    the imports: the model's 25.6M float32 parameters (98 MiB, allocated uninitialised), the GHN,
    the graph and the prediction (the reference's +260 MiB is measured over its imports too)."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY_SCRIPT, core, backend], capture_output=True, text=True, check=True
    )
    rss = json.loads(out.stdout.strip().splitlines()[-1])
    return rss["after_mib"] - rss["before_mib"]


GRID = ("--gnn", "gcn,mlp", "--split", "val", "--seeds", "2", "--steps", "40", "--eval-nets", "4")  # 4 tiny jobs


def grid_round(parallel: bool, workdir: Path, entry: Entry, grid: tuple[str, ...] = GRID) -> Round:
    """A small `tiny` grid (GRID: 4 jobs) run by `bench sweep --launcher local` from empty folders
    each round: as the sweep shares the CPUs out (one 1-thread job per usable CPU), or
    sequentially (one job at a time with every CPU), through `entry` (the `bench` command line's
    main); `bench profile --only grid` reports both and their ratio."""
    rounds = itertools.count()

    def run():
        home = workdir / f"grid{'-parallel' if parallel else '-sequential'}{next(rounds)}"
        argv = [
            "sweep",
            *grid,
            "--launcher",
            "local",
            "--no-progress",
            "--results",
            str(home / "results"),
            "--checkpoints",
            str(home / "checkpoints"),
            "--logs",
            str(home / "logs"),
        ]
        if not parallel:
            argv += ["--parallel", "1"]  # its one job takes every usable CPU
        with contextlib.redirect_stdout(io.StringIO()):
            code = entry(argv)
        if code != 0:
            raise RuntimeError(f"the profiled grid failed: `bench {' '.join(argv)}` (logs in {home / 'logs'})")

    return Round(run, 1)
