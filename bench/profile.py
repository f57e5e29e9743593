"""Speed workloads shared by the pytest-benchmark suite (`benchmarks/`) and `bench profile`.

Each workload is set up once (models built, caches filled) and returns a `Round`: a callable
doing one timed round of work and the number of items (architectures, graphs, reads) it
handles. On CUDA a round ends with `torch.cuda.synchronize()`, so timings include the GPU
work. Reference figures are those of the reference GHN-2 code measured on the 2-core
development machine (issue 7); targets are the ratios we aim for.
"""
from __future__ import annotations

import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
    from .data import ImageData
    from .presets import get_preset
    from .train import TrainSpec, build_ghn

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


def training_setup(core: str, device: torch.device, meta_batch: int, max_params: float):
    """A GHN-2-size GHN (hidden 32) and its Adam, CIFAR-10-shaped data, one image batch, and an
    endless cycle over the architectures of training steps 0-3 (`meta_batch` each)."""
    from bench.data import ImageData
    from bench.train import train_architectures

    ghn = protocol_ghn(core).to(device)
    opt = torch.optim.Adam(ghn.parameters(), lr=1e-3)
    shape = ImageData("cifar10-shaped", num_classes=10, in_channels=3, image_size=32)
    x, y = torch.randn(64, 3, 32, 32, device=device), torch.randint(0, 10, (64,), device=device)
    archs = itertools.cycle([train_architectures(0, step, meta_batch, max_params) for step in range(4)])
    return ghn, opt, shape, x, y, archs


def train_step_round(core: str, device: torch.device, amp: bool = False, meta_batch: int = 8,
                     max_params: float = 1e6) -> Round:
    """One GHN-2-size training step through the training code itself (bench.train's
    meta_loss, mixed precision as `--amp`): `meta_batch` train architectures (<= `max_params`
    parameters) predicted and run on 64 images 3x32x32 with a CIFAR-10 head, one Adam step.
    Round r uses the architectures of training step r % 4, so rounds repeat the same work."""
    from bench.train import meta_loss, mixed_precision

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


def train_step_phases(core: str, device: torch.device, amp: bool = True, repeat: int = 4, meta_batch: int = 8,
                      max_params: float = 1e6) -> dict[str, float]:
    """Median seconds of each phase of train_step_round's step (after one warm-up round): the
    backward pass is split at the predicted parameters, the nets' part ending there and the
    GHN's starting there (the same gradients as one backward call)."""
    from bench.train import build_meta_batch, mixed_precision, nets_loss

    ghn, opt, shape, x, y, archs = training_setup(core, device, meta_batch, max_params)
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
    from bench.evaluate import accuracy
    from bench.nets import make_net
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
from bench.profile import protocol_ghn
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
    out = subprocess.run([sys.executable, "-c", PEAK_MEMORY_SCRIPT, core, backend], capture_output=True, text=True,
                         check=True)
    rss = json.loads(out.stdout.strip().splitlines()[-1])
    return rss["after_mib"] - rss["before_mib"]


REFERENCES = {
    "generate": Reference(6.1, "arch/s", 10.0, True),
    "predict_resnet50": Reference(280.0, "ms", 3.0, False),
    "train_step": Reference(0.94, "arch/s", 2.0, True),
    "train_step_amp": Reference(0.94, "arch/s", 2.0, True),
    "peak_memory_resnet50": Reference(260.0, "MiB", 1.0, False),
}


@dataclass
class Measurement:
    """The figures of one workload: per-round times and how to report them."""

    name: str
    seconds: list[float]
    items: int
    unit: str  # "arch/s" (rate), "ms" (time per round) or "MiB"
    reference: Reference | None = None

    @property
    def value(self) -> float:
        """The median round as the workload's unit."""
        median = statistics.median(self.seconds)
        if self.unit == "arch/s":
            return self.items / median
        if self.unit == "ms":
            return 1000 * median
        return median  # MiB: stored as is

    @property
    def ratio(self) -> float | None:
        """How many times better than the reference (> 1: better)."""
        if self.reference is None:
            return None
        ref = self.reference.value
        return self.value / ref if self.reference.higher_better else ref / max(self.value, 1e-9)


def time_rounds(round_: Round, repeat: int, warmup: int = 1) -> list[float]:
    """Seconds of each of `repeat` rounds, after `warmup` untimed ones."""
    for _ in range(warmup):
        round_.run()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        round_.run()
        times.append(time.perf_counter() - t0)
    return times


def workloads(gnns: tuple[str, ...], backends: tuple[str, ...], device: torch.device,
              workdir: Path) -> dict[str, tuple[Callable[[], Round], str, int]]:
    """name -> (setup returning a Round, unit, default repeats) for `bench profile`."""
    table: dict[str, tuple[Callable[[], Round], str, int]] = {
        "generate": (generate_round, "arch/s", 5),
        "cached_read": (lambda: cached_read_round(workdir / "cache"), "ms", 200),
        "graph_resnet50": (lambda: torchvision_graph_round("resnet50"), "ms", 10),
        "graph_vit_b_16": (lambda: torchvision_graph_round("vit_b_16"), "ms", 10),
    }
    for size in DEEPNETS_SIZES:
        table[f"graph_deepnets_{size}"] = (lambda size=size: deepnets_graph_round(size), "ms", 10)
    for gnn in gnns:
        for backend in backends:
            table[f"predict_resnet50[{gnn}/{backend}]"] = (
                lambda g=gnn, b=backend: predict_resnet50_round(g, b, device), "ms", 10)
            table[f"core_forward[{gnn}/{backend}]"] = (lambda g=gnn, b=backend: core_forward_round(g, b, device),
                                                       "ms", 10)
        table[f"train_step[{gnn}]"] = (lambda g=gnn: train_step_round(g, device), "arch/s", 4)
        table[f"train_step_amp[{gnn}]"] = (lambda g=gnn: train_step_round(g, device, amp=True), "arch/s", 4)
        table[f"eval[{gnn}]"] = (lambda g=gnn: eval_round(g, device), "arch/s", 3)
    return table


def profile(gnns: tuple[str, ...], backends: tuple[str, ...], device: str = "cpu", only: tuple[str, ...] = (),
            repeat: int | None = None, memory: bool = True, progress: bool = True) -> list[Measurement]:
    """Measure every workload (or those whose name starts with one of `only`)."""
    from tqdm.auto import tqdm

    dev = torch.device(device)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        table = workloads(gnns, backends, dev, Path(tmp))
        chosen = [n for n in table if not only or n.startswith(only)]
        for name in tqdm(chosen, desc="profile", unit="workload", disable=not progress):
            setup, unit, default_repeat = table[name]
            round_ = setup()
            times = time_rounds(round_, repeat or default_repeat)
            out.append(Measurement(name, times, round_.items, unit, REFERENCES.get(name.split("[")[0])))
    if memory and (not only or "peak_memory_resnet50".startswith(only)):
        mib = peak_memory_resnet50(gnns[0], backends[0])
        out.append(Measurement(f"peak_memory_resnet50[{gnns[0]}/{backends[0]}]", [mib], 1, "MiB",
                               REFERENCES["peak_memory_resnet50"]))
    return out


def format_table(rows: list[Measurement]) -> str:
    """The measurements as a text table: value, unit, reference, ratio and whether the target is met."""
    lines = [f"{'workload':34} {'ours':>10} {'unit':6} {'reference':>10} {'ratio':>7}  target"]
    for m in rows:
        ref = m.reference
        if ref is None:
            lines.append(f"{m.name:34} {m.value:10.3g} {m.unit:6}")
            continue
        met = "met" if m.ratio >= ref.target_ratio else "NOT met"
        lines.append(f"{m.name:34} {m.value:10.3g} {m.unit:6} {ref.value:10.3g} {m.ratio:6.2f}x  "
                     f">= {ref.target_ratio:g}x: {met}")
    return "\n".join(lines)


def add_profile(sub) -> None:
    """Register the `profile` subcommand."""
    from .cli import DEVICES
    from .options import on_off

    p = sub.add_parser("profile", help="measure speed (graphs, prediction, training, evaluation) and peak memory")
    p.add_argument("--gnn", default="gatedgnn", help="GNN cores: a comma list or all (default gatedgnn)")
    p.add_argument("--backend", default="pyg", help="backends for prediction and core timings: pyg, dgl or all")
    p.add_argument("--device", default="cpu", choices=DEVICES)
    p.add_argument("--only", default="", help="comma list of workload names or name prefixes (default: all), "
                   "e.g. predict_resnet50,train_step")
    p.add_argument("--repeat", type=int, default=None, help="timed rounds per workload (default: per workload)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement (a subprocess)")
    p.add_argument("--phases", action="store_true",
                   help="instead of the workloads, time the phases of a training step (where its time goes)")
    p.add_argument("--amp", type=on_off, default=True, metavar="on|off",
                   help="bfloat16 autocast for --phases where the device supports it (default on)")
    p.add_argument("--json", default=None, help="also write the measurements to this JSON file")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_profile)


def run_profile(args) -> int:
    """Run `bench profile`."""
    from gnn_zoo import available

    from .cli import check_device, choose, usable_backends

    gnns = choose(args.gnn, tuple(sorted(available())), "--gnn: unknown value")
    backends = usable_backends(args.backend)
    check_device(args.device)
    only = tuple(t.strip() for t in args.only.split(",") if t.strip())
    names = list(workloads(gnns, backends, torch.device(args.device), Path("."))) + ["peak_memory_resnet50"]
    unknown = [o for o in only if not any(n.startswith(o) for n in names)]
    if unknown:
        raise ValueError(f"--only: no workload starts with {', '.join(unknown)}; workloads: {', '.join(names)}")
    if args.phases:
        if only:
            raise ValueError("--phases times the phases of a training step instead of the workloads; drop --only")
        return run_phases(args, gnns)
    rows = profile(gnns, backends, args.device, only, args.repeat, memory=not args.no_memory,
                   progress=not args.no_progress)
    print(f"ghnbench profile on {args.device} ({torch.get_num_threads()} threads), median round; "
          f"reference: the GHN-2 code on the 2-core dev machine")
    print(format_table(rows))
    if args.json:
        save_json(args.json, [{"name": m.name, "value": m.value, "unit": m.unit, "seconds": m.seconds,
                               "items": m.items, "ratio": m.ratio} for m in rows])
    return 0


def run_phases(args, gnns: tuple[str, ...]) -> int:
    """`bench profile --phases`: one phase table per core."""
    out = {}
    for gnn in gnns:
        out[gnn] = train_step_phases(gnn, torch.device(args.device), args.amp, args.repeat or 4)
        print(format_phases(gnn, out[gnn]))
    if args.json:
        save_json(args.json, {"phases": out, "amp": args.amp, "device": args.device})
    return 0


def save_json(path: str, value) -> None:
    """`--json`: write `value` to `path` atomically and say so."""
    from deepnets1m.atomic import atomic_write

    with atomic_write(Path(path), "w") as f:
        json.dump(value, f, indent=1)
    print(f"wrote {path}")
