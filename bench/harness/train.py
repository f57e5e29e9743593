"""Meta-training a GHN on DeepNets-1M train architectures (GHN-2 recipe), resumable."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call
from tqdm.auto import tqdm

from bench.config.presets import Preset
from bench.config.protocol import CoreSetting, core_setting
from bench.config.records import cpu_info
from bench.harness.data import ImageData
from bench.harness.ddp import Context, all_ok, predictor, shard
from bench.harness.nets import fit_input, input_size, make_net
from deepnets1m import SPLITS, sample, spec_graph
from deepnets1m.net import count_params
from deepnets1m.spec import LARGE_IMAGE, ArchSpec
from deepnets1m.splits import GENERATOR_VERSION, REFERENCE_CONFIG, train_width
from gnn_zoo import GHN, VARIANTS
from gnn_zoo.conv_decoder import DECODER_VERSION
from gnn_zoo.init import init_decoder
from gnn_zoo.registry import core_class

# the random streams a seed drives, bumped when they change (part of checkpoint keys and records):
# 2: common random numbers, the GHN's shell drawn from the seed alone, whatever the core
STREAM_VERSION = 2
LOSS_TAIL = 50  # the last steps whose training losses a record summarises (collapse detection)
CURVE_EVERY = 50  # a checkpoint's and record's loss curve: the median training loss of every 50 steps
MAX_RETRIES = 20  # non-finite meta-batches redrawn for one step's images before training gives up
MAX_REDRAWS = 100  # meta-batches over the node cap drawn in a row before giving up
PROBE_NETS = 8  # training nets the hyperfan decoder init measures its scale on


class TrainingDiverged(RuntimeError):
    """Too many non-finite losses or gradients in a row for one step's images."""


@dataclass
class TrainSpec:
    """What identifies a trained GHN: a checkpoint is reused only for an identical TrainSpec."""

    gnn: str
    backend: str
    dataset: str
    preset: Preset
    seed: int

    def key(self) -> str:
        """Short stable hash of everything training depends on (the backend's weights are
        interchangeable, but its optimizer state is not, so it is part of the key)."""
        setting, protocol = self.core_setting()
        blob = json.dumps(
            [
                self.gnn,
                self.backend,
                self.dataset,
                self.seed,
                self.preset.training_fields(),
                GENERATOR_VERSION,
                core_class(self.gnn, self.backend).default_view(),
                protocol,
                setting.layers,
                setting.kwargs,
                STREAM_VERSION,
                DECODER_VERSION,
            ],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha1(blob.encode()).hexdigest()[:10]

    def core_setting(self) -> tuple[CoreSetting, str]:
        """The core's depth and arguments, and the protocol they follow (bench.config.protocol)."""
        p = self.preset
        return core_setting(self.gnn, p.hidden, p.ghn, p.layers)

    def checkpoint(self, root: Path) -> Path:
        """Path of this run's checkpoint under `root`."""
        ghn = "" if self.preset.ghn == "ghn2" else f"{self.preset.ghn}-"
        view = f"_{self.preset.view}" if self.preset.view else ""
        return Path(root) / (
            f"{ghn}{self.gnn}{view}_{self.backend}_{self.dataset}_{self.preset.name}_s{self.seed}_{self.key()}.pt"
        )


def train_architectures(
    seed: int, step: int, count: int, max_params: float | None, attempt: int = 0, retry: int = 0
) -> list:
    """The `count` train architectures of step `step` (draw `attempt` of its `retry`-th meta-batch),
    each at the width drawn for it (DeepNets-1M's training-time width draw): a pure function of
    (seed, step, attempt, retry), so a resumed run sees the same stream; archs above `max_params`
    (at CIFAR-10 size, at their drawn width) are skipped."""
    rng = np.random.default_rng([seed, step, 17] + ([attempt] if attempt or retry else []) + ([retry] if retry else []))
    out: list[ArchSpec] = []
    while len(out) < count:
        spec = train_width(sample("train", int(rng.integers(SPLITS["train"].size))), rng)
        if max_params is None or count_params(spec, **REFERENCE_CONFIG) <= max_params:
            out.append(spec)
    return out


def step_architectures(seed: int, step: int, preset: Preset, retry: int = 0) -> tuple[list, int]:
    """The meta-batch of step `step` (its `retry`-th, when earlier ones gave non-finite losses) and
    how many draws before it went over preset.max_meta_nodes: as in GHN-2, a meta-batch whose nets
    have more nodes in all (at CIFAR-10 size) is redrawn for the same images, and the redraws are
    counted."""
    for attempt in range(MAX_REDRAWS):
        specs = train_architectures(seed, step, preset.meta_batch, preset.max_train_params, attempt, retry)
        cap = preset.max_meta_nodes
        if cap is None or sum(spec_graph(s, **REFERENCE_CONFIG).num_nodes for s in specs) <= cap:
            return specs, attempt
    raise ValueError(
        f"{MAX_REDRAWS} meta-batches of {preset.meta_batch} nets in a row had more than {cap} nodes at "
        f"step {step}; raise --max-meta-nodes or lower --meta-batch"
    )


def dropout_seeds(seed: int, step: int, count: int) -> list[int]:
    """A seed for each net of step `step`: the masks of the nets' fc dropout (active in training,
    as in the reference) are then the same after a resume and whichever rank runs the net."""
    return [int(np.random.SeedSequence([seed, step, j]).generate_state(1)[0]) for j in range(count)]


@dataclass
class TrainReport:
    """What a training call did."""

    checkpoint: Path
    steps: int
    seconds: float  # total training time, over all resumed sessions
    skipped: int
    redrawn: int  # meta-batches redrawn for being over the node cap
    final_loss: float
    resumed_from: int
    loss_tail: float | None = None  # median training loss over the last LOSS_TAIL steps


def lr_factor(preset: Preset, step: int) -> float:
    """Linear warmup over the first preset.warmup of the steps (step 0 at 1/n of the LR), then the
    preset's schedule: step (x0.1 at each milestone fraction of the steps) or cosine (a half cosine
    from the LR to 0 over the steps after the warmup, as GHN-3)."""
    warm_steps = preset.warmup * preset.steps
    warm = min(1.0, (step + 1) / warm_steps) if preset.warmup else 1.0
    if preset.schedule == "cosine":
        done = max(0.0, step - warm_steps) / max(1.0, preset.steps - warm_steps)
        return warm * 0.5 * (1 + math.cos(math.pi * done))
    return warm * 0.1 ** sum(step >= m * preset.steps for m in preset.lr_milestones)


def load_checkpoint(path: Path) -> dict:
    """A training checkpoint (weights_only), with a clear error when it is unreadable."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise ValueError(f"checkpoint {path} is unreadable ({reason}); delete it to train again") from err
    if "train" not in ckpt:
        raise ValueError(f"{path} is not a ghnbench training checkpoint; delete it to train again")
    return ckpt


def build_ghn(spec: TrainSpec, data: ImageData, device: torch.device) -> GHN:
    """A fresh GHN for this training spec: its LayerNorm and output scaling as the preset's GHN
    variant has them, the core set up by the protocol (bench.config.protocol); GHN-2's decoder side s
    is 16 on ImageNet-sized images, else 11. The shell's init is keyed on the seed alone (common
    random numbers across cores); the preset's decoder_init then rescales the decoder's last
    layers (gnn_zoo.init; hyperfan measures them on the seed's first PROBE_NETS training nets,
    so it depends on the core too), GHN-2's decoder only: GHN-3 variants start from GHN-3's own
    init, whatever the preset (a preset adopting GHN-3's init gives them that init once)."""
    p, variant = spec.preset, VARIANTS[spec.preset.ghn]
    setting, _ = spec.core_setting()
    ghn = GHN(
        spec.gnn,
        spec.backend,
        hidden=p.hidden,
        layers=setting.layers,
        num_classes=data.num_classes,
        max_hops=p.max_hops,
        layernorm=variant.layernorm,
        scaling=variant.scaling,
        max_side=16 if data.image_size >= LARGE_IMAGE else 11,
        view=p.view,
        init_seed=spec.seed,
        decoder=variant.decoder,
        **setting.kwargs,
    ).to(device)
    if variant.decoder == "ghn3":  # built with GHN-3's own init (gnn_zoo.init.ghn3_init): a preset's
        return ghn  # decoder_init rescales GHN-2's decoder, and a second / 5 would start GHN-3 at / 25
    probe = None
    if p.decoder_init == "hyperfan":
        specs = train_architectures(spec.seed, 0, PROBE_NETS, p.max_train_params, attempt=PROBE_NETS)
        probe = ghn.batch(build_meta_batch(specs, data, device)[0])
    with torch.random.fork_rng(devices=[]):
        init_decoder(ghn, p.decoder_init, probe)
    return ghn


@contextlib.contextmanager
def training_lock(path: Path, wanted: bool = True):
    """Hold an exclusive lock beside checkpoint `path` (flock on `<path>.lock`): a second process
    training the same GHN waits, saying so, and then resumes or reuses what the first one wrote,
    instead of training it in full beside it. A no-op where not `wanted` (the ranks of one
    distributed run share their checkpoint)."""
    if not wanted:
        yield
        return
    import fcntl  # POSIX only: imported where a lock is taken

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"another process is training this GHN ({path.name}); waiting for it to finish, then going on "
                f"from its checkpoint",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def train(
    spec: TrainSpec, data: ImageData, root: Path, device: str = "cpu", progress: bool = True, ctx: Context | None = None
) -> TrainReport:
    """Train (or resume, or just return) the GHN of `spec`; checkpoints are written atomically
    every preset.ckpt_every steps and at the end. With a multi-rank `ctx` each rank trains on its
    share of every meta-batch (see bench.harness.ddp) and rank 0 writes the checkpoints. One
    process at a time trains a checkpoint (training_lock)."""
    ctx = ctx or Context(device=torch.device(device))
    with training_lock(Path(spec.checkpoint(root)), wanted=ctx.world == 1):
        return locked_train(spec, data, root, progress, ctx)


def locked_train(spec: TrainSpec, data: ImageData, root: Path, progress: bool, ctx: Context) -> TrainReport:
    """train() inside its lock."""
    p, dev = spec.preset, ctx.device
    if p.meta_batch % ctx.world:
        raise ValueError(
            f"meta-batch {p.meta_batch} does not split evenly over {ctx.world} processes; pass "
            f"--meta-batch a multiple of {ctx.world}"
        )
    path = spec.checkpoint(root)
    torch.manual_seed(spec.seed)
    resume = load_checkpoint(path) if path.exists() else None
    ghn = GHN.load(path, map_location=dev).to(dev) if resume else build_ghn(spec, data, dev)
    opt = make_optimizer(ghn, p)
    start, done = 0, Progress()
    if resume:
        state = resume["train"]
        load_optimizer(opt, state["optimizer"])
        start = state["step"]
        done = Progress(
            state["seconds"],
            state["skipped"],
            state.get("redrawn", 0),
            state["loss"] or float("nan"),
            curve=list(state.get("curve", [])),
            window=list(state.get("curve_window", [])),
            cpu_seconds=state.get("cpu_seconds"),
        )
        done.recent.extend(state.get("recent_losses", []))
    images = data.train_batches(p.batch_size, spec.seed, start)
    ghn.train()
    bar = tqdm(
        range(start, p.steps),
        initial=start,
        total=p.steps,
        desc=f"train {spec.gnn}/{spec.backend}",
        unit="step",
        disable=not (progress and ctx.main),
    )
    t0 = time.perf_counter()
    try:
        train_steps(TrainingRun(spec, data, ctx, ghn, opt, predictor(ghn, ctx), path, done, t0), bar, images)
    except KeyboardInterrupt:
        if not (path.exists() and ctx.main):
            raise KeyboardInterrupt(f"no checkpoint written yet (the first comes at step {p.ckpt_every})") from None
        kept = load_checkpoint(path)["train"]["step"]
        raise KeyboardInterrupt(f"the last checkpoint holds step {kept} of {p.steps} ({path})") from None
    if start < p.steps:  # a finished checkpoint that was only reused adds no training time
        done.seconds += time.perf_counter() - t0
    tail = float(np.median(done.recent)) if done.recent else None
    return TrainReport(path, p.steps, done.seconds, done.skipped, done.redrawn, done.loss, start, tail)


@dataclass
class Progress:
    """What a training has done so far (over all its sessions): seconds before this session,
    non-finite meta-batches redrawn, node-cap redraws, the last loss, the last steps' losses, and
    the loss curve (the median of every CURVE_EVERY steps, and the losses of the unfinished window)."""

    seconds: float = 0.0
    skipped: int = 0
    redrawn: int = 0
    loss: float = float("nan")
    recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=LOSS_TAIL))
    curve: list[float] = field(default_factory=list)
    window: list[float] = field(default_factory=list)
    cpu_seconds: float | None = 0.0  # CPU time before this session (None: a checkpoint that did not count it)
    cpu_start: float = field(default_factory=time.process_time)  # this process's CPU time when the session began

    def add(self, loss: float, step: int, steps: int) -> None:
        """Count step `step`'s loss (of `steps`): the last loss, the tail, the curve."""
        self.loss = loss
        self.recent.append(loss)
        self.window.append(loss)
        if (step + 1) % CURVE_EVERY == 0 or step + 1 == steps:
            self.curve.append(float(np.median(self.window)))
            self.window.clear()

    def state(self, step: int, seconds: float) -> dict:
        """The training state a checkpoint keeps at step `step` (`seconds` trained in all; the CPU
        seconds too, which other work on the machine does not inflate)."""
        cpu = None if self.cpu_seconds is None else self.cpu_seconds + time.process_time() - self.cpu_start
        return {
            "step": step,
            "seconds": seconds,
            "skipped": self.skipped,
            "redrawn": self.redrawn,
            "loss": self.loss if math.isfinite(self.loss) else None,
            "recent_losses": list(self.recent),
            "curve": list(self.curve),
            "curve_window": list(self.window),
            "cpu_seconds": cpu,
        }


@dataclass
class TrainingRun:
    """One training session: what it trains (spec, data, the process's context), the GHN, its
    optimizer and prediction step (ghn.predict, or its DDP wrapper), the checkpoint it writes,
    its progress over all sessions, and when this session started (perf_counter)."""

    spec: TrainSpec
    data: ImageData
    ctx: Context
    ghn: GHN
    opt: torch.optim.Optimizer
    predict: Callable
    path: Path
    done: Progress
    t0: float


def train_steps(run: TrainingRun, bar, images) -> None:
    """The training steps of `bar` on `images` (updating run.done), checkpointing every
    preset.ckpt_every steps and at the end."""
    spec, data, ctx, ghn, opt, predict, path, done, t0 = (
        run.spec,
        run.data,
        run.ctx,
        run.ghn,
        run.opt,
        run.predict,
        run.path,
        run.done,
        run.t0,
    )
    p, dev = spec.preset, ctx.device
    autocast = mixed_precision(p.amp, dev)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = p.lr * lr_factor(p, step)
        x, y = next(images)
        x, y = x.to(dev), y.to(dev)
        for retry in range(MAX_RETRIES + 1):  # as in GHN-2: a non-finite step redraws nets for the same images
            specs, over_cap = step_architectures(spec.seed, step, p, retry)
            done.redrawn += over_cap
            specs, seeds = shard(specs, ctx), shard(dropout_seeds(spec.seed, step, p.meta_batch), ctx)
            with autocast:
                loss = meta_loss(ghn, predict, specs, x, y, data, seeds, p.label_smoothing, p.param_penalty)
            opt.zero_grad(set_to_none=True)
            ok = all_ok(bool(torch.isfinite(loss)), ctx)
            if ok:
                loss.backward()
                ok = apply_gradients(ghn, opt, p.grad_clip)  # gradients are all-reduced: every rank agrees
            if ok:
                done.add(loss.item(), step, p.steps)
                break
            done.skipped += 1
        else:
            raise TrainingDiverged(
                f"{MAX_RETRIES + 1} meta-batches in a row gave non-finite losses or gradients at "
                f"step {step}; lower --lr (now {p.lr}) or --grad-clip; the last good checkpoint is "
                f"{path}"
            )
        bar.set_postfix(loss=f"{done.loss:.3f}", skipped=done.skipped)
        if ctx.main and ((step + 1) % p.ckpt_every == 0 or step + 1 == p.steps):
            save_checkpoint(
                path, ghn, opt, {**done.state(step + 1, done.seconds + time.perf_counter() - t0), "of": p.steps}
            )
            if bar.disable:  # no progress bar: a line per checkpoint instead
                print(f"step {step + 1}/{p.steps}: loss {done.loss:.3f}, checkpoint saved", flush=True)


KERNELS = ("fused", "foreach")  # the param-group flags that pick Adam's implementation


def make_optimizer(ghn: GHN, preset: Preset) -> torch.optim.Optimizer:
    """The meta-training optimizer: Adam with the preset's LR and (L2) weight decay (GHN-2), or
    AdamW's decoupled weight decay (GHN-3; preset.optimizer), in torch's fused kernel, one pass
    over each weight (the default on the CPU is a per-tensor loop, several times slower for
    GHN-2's 1.6M weights); it rounds differently in the last bit. torch < 2.4 has no fused CPU
    kernel (the dgl env's torch 2.2): there the multi-tensor form."""
    params, kind = list(ghn.parameters()), torch.optim.AdamW if preset.optimizer == "adamw" else torch.optim.Adam
    try:
        return kind(params, lr=preset.lr, weight_decay=preset.weight_decay, fused=True)
    except RuntimeError:
        return kind(params, lr=preset.lr, weight_decay=preset.weight_decay, foreach=True)


def load_optimizer(opt: torch.optim.Optimizer, state: dict) -> None:
    """Resume `opt` from a saved state dict, keeping opt's kernel: a state dict carries the kernel
    flags of the run that saved it (checkpoints before the fused kernel name the multi-tensor one)."""
    kernel = {flag: opt.param_groups[0][flag] for flag in KERNELS}
    opt.load_state_dict({**state, "param_groups": [{**group, **kernel} for group in state["param_groups"]]})


def apply_gradients(ghn: GHN, opt: torch.optim.Optimizer, grad_clip: float) -> bool:
    """Clip the gradients to norm `grad_clip` and take the optimizer step if they are finite;
    whether it stepped."""
    if not torch.isfinite(torch.nn.utils.clip_grad_norm_(ghn.parameters(), grad_clip)):
        return False
    opt.step()
    return True


def amp_supported(device: torch.device) -> bool:
    """Whether bfloat16 autocast pays off on `device`: CUDA GPUs with bf16, CPUs with native bf16
    only (AVX512-BF16 or AMX). oneDNN's own check also accepts plain AVX512F, where bf16 is
    emulated: on such an Intel Xeon a training step ran 2x slower in bf16 than in float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and native_cpu_bf16()


def native_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX tiles), as torch.cpu reports
    it; torch releases without those checks (2.2) read the CPU flags instead."""
    checks = [
        getattr(torch.cpu, name)
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        if hasattr(torch.cpu, name)
    ]
    if checks:
        return any(check() for check in checks)
    return bool({"avx512_bf16", "amx_bf16", "amx_tile"} & set(cpu_info()["cpu_flags"]))


def mixed_precision(amp: bool, device: torch.device):
    """bfloat16 autocast for the GHN and the nets when `amp` is asked for and the device supports
    it, else a no-op context (on the 2-core CPU it costs speed: docs/results-log.md)."""
    if amp and amp_supported(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def meta_loss(
    ghn: GHN,
    predict,
    specs: list,
    x: torch.Tensor,
    y: torch.Tensor,
    data: ImageData,
    seeds: list[int] | None = None,
    label_smoothing: float = 0.0,
    param_penalty: float = 0.0,
) -> torch.Tensor:
    """Mean cross-entropy of the `specs` networks on (x, y), with the parameters `predict`
    (ghn.predict, or its DDP wrapper) gives them: the quantity a meta-training step minimises."""
    graphs, nets = build_meta_batch(specs, data, x.device)
    return nets_loss(nets, predict(ghn.batch(graphs)), specs, x, y, data, seeds, label_smoothing, param_penalty)


def build_meta_batch(specs: list, data: ImageData, device: torch.device) -> tuple[list, list]:
    """The graphs and the (uninitialised) nets of `specs` for `data`."""
    graphs = [spec_graph(s, data.num_classes, data.in_channels, input_size(s, data.image_size)) for s in specs]
    nets = [make_net(s, data.num_classes, data.in_channels, data.image_size, device, init=False) for s in specs]
    return graphs, nets


def nets_loss(
    nets: list,
    preds: list[dict],
    specs: list,
    x: torch.Tensor,
    y: torch.Tensor,
    data: ImageData,
    seeds: list[int] | None = None,
    label_smoothing: float = 0.0,
    param_penalty: float = 0.0,
) -> torch.Tensor:
    """Mean cross-entropy (label-smoothed by `label_smoothing`) of `nets` run with the predicted
    parameters `preds` on (x, y), net k's dropout seeded with seeds[k] when given, each net's
    plus `param_penalty` x the sum of its predicted tensors' Frobenius norms (GHN-3's). Images go in
    channels-last, the layout oneDNN/cuDNN convolutions (and their backward) run fastest in, and a
    convolution's output keeps its input's layout; a 1-channel image (digits, Fashion-MNIST) is
    NCHW-contiguous too, so there the conv weights go channels-last to carry the layout (the
    images alone left a digits net NCHW: depthwise backward ~5x slower). With more channels the
    images carry it and converting the weights only adds copies."""
    losses = []
    for k, (net, params, s) in enumerate(zip(nets, preds, specs)):
        if seeds is not None:
            torch.manual_seed(seeds[k])
        images = fit_input(x, input_size(s, data.image_size), channels_last=True)
        if images.shape[1] == 1:
            params = {
                name: w.contiguous(memory_format=torch.channels_last) if w.dim() == 4 else w
                for name, w in params.items()
            }
        # DeepNets-1M nets tie no weights: skipping functional_call's tie search saves ~25 ms a net
        logits = functional_call(net, params, (images,), tie_weights=False)
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
        if param_penalty:
            loss = loss + param_penalty * sum(w.norm() for w in params.values())
        losses.append(loss)
    return torch.stack(losses).mean()


def save_checkpoint(path: Path, ghn: GHN, opt: torch.optim.Optimizer, state: dict) -> None:
    """GHN checkpoint (loadable by GHN.load) plus the optimizer and the training state (Progress.state),
    written atomically."""
    ghn.save(path, train={**state, "optimizer": opt.state_dict()})


AT_CHANCE = 0.02  # a loss within 2% of ln(classes) is at chance


def training_summary(path: Path, num_classes: int) -> dict:
    """What a record says of the training behind checkpoint `path`: the median loss of its last
    steps (a few predicted nets blow up to losses of 100+, so not the mean), whether every one of
    them was at chance (within 2% of ln classes: a collapsed GHN predicts constant logits), and
    the non-finite meta-batches it redrew, and its loss curve (the median of every CURVE_EVERY steps)."""
    state = GHN.read_checkpoint(path).get("train") or {}  # a GHN saved without training state: nothing to say
    recent = state.get("recent_losses") or []
    chance = math.log(num_classes)
    return {
        "steps": state.get("step"),
        "loss_tail": float(np.median(recent)) if recent else None,
        "loss_at_chance": bool(recent) and all(abs(x - chance) <= AT_CHANCE * chance for x in recent),
        "skipped": state.get("skipped"),
        "curve": {"every": CURVE_EVERY, "median_loss": state.get("curve", [])},
        "cpu_seconds": state.get("cpu_seconds"),
    }
