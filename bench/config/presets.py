"""Presets: training and evaluation settings as data; any field can be overridden by a flag."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from gnn_zoo.variants import VARIANTS

# the random-init fine-tuning curve is checkpointed at these steps (up to the largest K asked for)
LOG_GRID = (1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000)


@dataclass(frozen=True)
class FinetuneRecipe:
    """What fine-tuning runs: the K to report, SGD's learning rate (momentum 0.9, batch 64, as the
    SGD baseline), the nets (first N evaluated; None: all) and the noise std added to predicted
    weights first (0: none)."""

    steps: tuple[int, ...]
    lr: float
    nets: int | None = None
    noise: float = 0.0

    def grid(self) -> tuple[int, ...]:
        """Checkpoints of the random-init curve: the log grid up to the largest K, and every K."""
        return tuple(sorted({s for s in LOG_GRID if s <= max(self.steps)} | set(self.steps)))

    def key(self) -> dict:
        """What the shared random-init curves depend on besides the 0-step baselines' key."""
        return {"finetune_grid": list(self.grid()), "finetune_lr": self.lr}


@dataclass(frozen=True)
class SplitMinutes:
    """What evaluating one split takes in a sweep job: with the baselines shared, and computing
    its baselines once per seed (minutes)."""

    split: str
    shared: float
    baselines: float


@dataclass(frozen=True)
class JobCost:
    """A preset's sweep job in minutes, measured on TIMED_ON: training (of `steps` steps; a preset
    of other steps scales it), and each split it was timed on (a split not listed counts as their
    mean), whose evaluation included fine-tuning of these steps (none: measured without)."""

    train: float
    splits: tuple[SplitMinutes, ...]
    finetune: tuple[int, ...] = ()
    steps: int | None = None


def job_cost(train: float, *splits: tuple[str, float, float], steps: int | None = None) -> JobCost:
    """JobCost from (split, shared, baselines) triples, its training measured at `steps` steps."""
    return JobCost(train, tuple(SplitMinutes(*split) for split in splits), steps=steps)


@dataclass(frozen=True)
class Preset:
    """Everything a run's training and evaluation depend on, besides gnn/backend/dataset/seed."""

    name: str
    hidden: int  # GHN width
    layers: (
        int | None
    )  # every core's depth by hand; None: each core's setting under protocol v1 (bench.config.protocol)
    meta_batch: int  # architectures per training step (m)
    batch_size: int  # images per training step, shared by the m architectures
    steps: int
    lr: float
    weight_decay: float
    grad_clip: float
    lr_milestones: tuple[float, ...]  # fractions of `steps` where the LR is multiplied by 0.1
    max_train_params: float | None  # skip train architectures larger than this (CPU budget); None: all
    max_meta_nodes: int | None  # redraw a meta-batch with more nodes in all (GHN-2: 2,200); None: no cap
    max_hops: int  # s, the virtual-edge range of gatedgnn
    eval_nets: int | None  # first N architectures of the split; None: all of it
    eval_images: int  # first N evaluation images
    eval_batch: int  # BN batch statistics are computed over batches of this size
    sgd_steps: int  # the k of the "k SGD steps from random init" baseline (0: skip it)
    sgd_nets: int | None  # run that baseline on the first N evaluated nets only (it costs k training steps each)
    sgd_lr: float
    # std of Gaussian noise added to eval images in [0, 1] pixel space (GHN-2: 0.08 CIFAR, 0.18 ImageNet); 0: clean
    eval_noise: float
    amp: bool  # bfloat16 autocast where the device supports it (CUDA; CPUs with native bf16)
    ckpt_every: int
    ghn: str = "ghn2"  # the GHN variant (gnn_zoo.variants): ghn2, or ghn1 with its meta-batch and max_hops
    view: str | None = None  # the core's graph view (gnn_zoo.views); None: the core's default (protocol v1)
    label_smoothing: float = 0.0  # of the meta-training cross-entropy (GHN-2 on ImageNet: 0.1)
    resize: int | None = None  # the data set's images resized to this many pixels a side (None: their own size)
    warmup: float = 0.0  # the first fraction of `steps` over which the LR rises linearly to `lr` (0: none)
    optimizer: str = "adam"  # adam (GHN-2: L2 weight decay) or adamw (GHN-3: decoupled weight decay)
    schedule: str = "step"  # step: x0.1 at each of lr_milestones (GHN-2); cosine: half cosine to 0 after the
    #                         warmup (GHN-3)
    decoder_init: str = "ghn2"  # the decoder's last layers at init: ghn2 (torch's defaults), ghn3 (weights / 5,
    #                             biases 0, as GHN-3), hyperfan (scaled so predicted weights start at their
    #                             fan-in variance; gnn_zoo.init)
    param_penalty: float = 0.0  # x the sum of the predicted tensors' Frobenius norms, added to each net's
    #                             loss (GHN-3's predparam_wd: 3e-5)
    datasets: tuple[str, ...] | None = None  # the data sets the recipe is for; None: any
    finetune: tuple[
        int, ...
    ] = ()  # fine-tune each evaluated net K steps from predicted and random init (bench.harness.finetune)
    finetune_nets: int | None = 5  # ... the first N evaluated nets only (None: all of them)
    finetune_lr: float | None = None  # SGD's learning rate for both inits (None: sgd_lr, the SGD baseline's)
    finetune_noise: float = 0.0  # noise std (x each weight's own std) added to predicted weights before fine-tuning
    job_threads: int | None = None  # threads of a local sweep job: 1 where runs gain little from more (one
    #                                 job per CPU then); None: one job at a time with every usable CPU
    job_minutes: JobCost | None = None  # what a sweep job takes (sweep's estimate)

    @property
    def label(self) -> str:
        """The name, or name-<8 hex digits of the overridden settings> when a field was overridden
        (beyond what the GHN variant sets): records of such runs get their own file names and
        leaderboard tables, never overwriting or mixing with the named preset's results; runs of
        any variant or view with the same overrides share a label (those are rows of one table)."""
        base = dataclasses.asdict(for_variant(PRESETS[self.name], self.ghn)) if self.name in PRESETS else {}
        changed = {
            k: v
            for k, v in dataclasses.asdict(self).items()
            if k not in IDENTITY_FIELDS + RUNTIME_FIELDS and base.get(k) != v
        }
        if not changed:
            return self.name
        settings = json.dumps(changed, sort_keys=True, default=str)
        return f"{self.name}-{hashlib.sha1(settings.encode()).hexdigest()[:8]}"

    def finetune_recipe(self):
        """The FinetuneRecipe of `finetune`, or None when no K is asked for."""
        if not self.finetune:
            return None
        return FinetuneRecipe(
            tuple(sorted(set(self.finetune))), self.finetune_lr or self.sgd_lr, self.finetune_nets, self.finetune_noise
        )

    def training_fields(self) -> dict:
        """The fields a trained GHN depends on (a checkpoint is reused only if they all match)."""
        keep = (
            "hidden",
            "layers",
            "meta_batch",
            "batch_size",
            "steps",
            "lr",
            "weight_decay",
            "grad_clip",
            "lr_milestones",
            "max_train_params",
            "max_meta_nodes",
            "max_hops",
            "amp",
            "ghn",
            "label_smoothing",
            "view",
        )
        return {**{k: getattr(self, k) for k in keep}, **self.later_fields(LATER_FIELDS)}

    def later_fields(self, names) -> dict:
        """Those of the fields `names` (added after checkpoints and baselines existed: LATER_FIELDS)
        that this preset sets: they enter a key only when set, so files keyed before them keep
        their keys."""
        return {k: getattr(self, k) for k in names if getattr(self, k) != LATER_FIELDS[k]}


TIMED_ON = "a 2-core AMD EPYC, 1 thread beside a second job"  # where every preset's job_minutes were measured

# fields added after checkpoints and baselines existed, with their unset value (Preset.later_fields)
LATER_FIELDS = {
    "warmup": 0.0,
    "resize": None,
    "optimizer": "adam",
    "schedule": "step",
    "decoder_init": "ghn2",
    "param_penalty": 0.0,
}
CHOICES = {"optimizer": ("adam", "adamw"), "schedule": ("step", "cosine"), "decoder_init": ("ghn2", "ghn3", "hyperfan")}
IDENTITY_FIELDS = ("ghn", "view")  # part of a run's identity (rows of a table), not of its preset's label
RUNTIME_FIELDS = ("job_threads", "job_minutes")  # how runs are scheduled, not what they compute


def extends(base: Preset, name: str, **changes) -> Preset:
    """Preset `name`: `base` with `changes` (each preset below is written as what it changes)."""
    return dataclasses.replace(base, name=name, **changes)


# CPU, minutes: small GHN, one small train architecture per step (more GHN updates per CPU second
# than a larger meta-batch); scored on 30 nets of each split x all 360 digits eval images, so a
# cell's standard error over the nets stays below 1 point (0.8 on val); what a job takes is its
# job_minutes
TINY = Preset(
    "tiny", hidden=32, layers=None, meta_batch=1, batch_size=64, steps=1000, lr=3e-3, weight_decay=1e-5,
    grad_clip=5.0, lr_milestones=(0.7, 0.9), max_train_params=5e5, max_meta_nodes=None, max_hops=50,
    eval_nets=30, eval_images=360, eval_batch=120, sgd_steps=10, sgd_nets=5, sgd_lr=0.05, eval_noise=0.0,
    amp=False, ckpt_every=50, job_threads=1,
    job_minutes=job_cost(1.6, ("val", 0.25, 0.4), ("test", 0.3, 0.55), ("ood-wide", 2.0, 4.3), ("ood-deep", 0.4, 0.75),
                         ("ood-dense", 0.37, 0.7), ("ood-bnfree", 0.23, 0.45), ("ood-predefined", 0.27, 1.7),
                         ("ood-torchvision", 0.45, 2.4), steps=1000),
)  # fmt: skip
# the budget for GHN-2 against its MLP ablation: GHN-2's meta-batch idea at m = 4, 4x tiny's
# training nets, every digits eval image, 20 nets a split (baselines included in job_minutes)
CPU30 = extends(TINY, "cpu30", meta_batch=4, steps=1200, lr=2e-3, eval_nets=20, ckpt_every=100,
                job_minutes=job_cost(6.7, ("val", 0.75, 0.0), ("ood-deep", 0.75, 0.0), steps=1200))  # fmt: skip
# the ranking's budget: cpu30's recipe, the cheapest budget whose seeds agreed in the search
# (docs/leaderboard.md, "The ranking")
RANK = extends(CPU30, "rank", job_minutes=job_cost(6.7, ("val", 0.5, 0.0), ("ood-deep", 0.6, 0.0), steps=1200))
# one GPU or a patient CPU
SMALL = extends(TINY, "small", meta_batch=8, steps=5000, lr=1e-3, max_train_params=2e6, max_meta_nodes=2200,
                eval_nets=100, eval_images=2000, eval_batch=500, sgd_steps=50, sgd_nets=20, amp=True,
                ckpt_every=250, job_threads=None, job_minutes=None)  # fmt: skip
# GHN-2's published CIFAR-10 recipe (reference section 7): hidden 32, T = 1, s = 50, meta-batch 8
# nets (at most 2,200 nodes in all, else redrawn) on the same 64 images, Adam lr 1e-3, weight
# decay 1e-5, gradient clipping 5, 300 epochs of 704 steps (45,000 images / 64) with the LR
# divided by 10 at epochs 200 and 250, float32; every split evaluated whole
PAPER = extends(SMALL, "paper", steps=300 * 704, lr_milestones=(200 / 300, 250 / 300), max_train_params=None,
                eval_nets=None, eval_images=10_000, eval_batch=64, sgd_steps=100, sgd_nets=None, amp=False,
                ckpt_every=1000, datasets=("cifar10", "cifar100"))  # fmt: skip
# GHN-2's ImageNet recipe (section 7): meta-batch 8 on 256 images, label smoothing 0.1, 150 epochs
# of 4,810 steps (the authors' note for m = 8); the LR milestones of that run are not published:
# ours keep the 300-epoch run's fractions (x0.1 at epochs 100 and 125); every split on all 50,000
# images in batches of 64 (val: the 50 held-out training images per class)
PAPER_IMAGENET = extends(PAPER, "paper-imagenet", batch_size=256, steps=150 * 4810, eval_images=50_000,
                         label_smoothing=0.1, datasets=("imagenet",))  # fmt: skip
# GHN-3-T/m8's ImageNet recipe (the reference GHN-3 code's train_ghn_ddp.py command, 4 GPUs;
# `bench run --ghn ghn3 --preset paper-ghn3 --dataset imagenet`): hidden 64, meta-batch 8 on 128
# images, AdamW lr 4e-4 and weight decay 1e-2, 5 of 75 epochs of linear warmup then a half
# cosine, clipping 5, label smoothing 0.1, 3e-5 x the predicted tensors' norms in the loss, mixed
# precision; 75 epochs of 10,010 steps (1,281,167 images / 128); evaluated as paper-imagenet
PAPER_GHN3 = extends(PAPER_IMAGENET, "paper-ghn3", hidden=64, batch_size=128, steps=75 * 10_010, lr=4e-4,
                     weight_decay=1e-2, lr_milestones=(), amp=True, warmup=5 / 75, optimizer="adamw",
                     schedule="cosine", param_penalty=3e-5)  # fmt: skip
PRESETS: dict[str, Preset] = {p.name: p for p in (TINY, CPU30, RANK, SMALL, PAPER, PAPER_IMAGENET, PAPER_GHN3)}


def base_fields(name: str, ghn: str) -> dict | None:
    """The fields of preset `name` as GHN variant `ghn` runs it (runtime fields aside), None for
    a name that is no preset: what the leaderboard reads a hashed preset label against."""
    if name not in PRESETS or ghn not in VARIANTS:
        return None
    fields = dataclasses.asdict(for_variant(PRESETS[name], ghn))
    return {k: v for k, v in fields.items() if k not in RUNTIME_FIELDS}


def check_dataset(preset: Preset, dataset: str) -> None:
    """A clear error when `preset` is a recipe for other data sets (paper: CIFAR, paper-imagenet: ImageNet)."""
    if preset.datasets is not None and dataset not in preset.datasets:
        fits = [p.name for p in PRESETS.values() if p.datasets is None or dataset in p.datasets]
        raise ValueError(
            f"--preset {preset.name} is the recipe for {', '.join(preset.datasets)}, not {dataset}; "
            f"use --preset {' or '.join(fits)}"
        )


def for_variant(preset: Preset, ghn: str) -> Preset:
    """`preset` for GHN variant `ghn`: the variant's forced meta-batch and max_hops (GHN-1: 1 and 1)."""
    if ghn not in VARIANTS:
        raise ValueError(f"unknown GHN variant {ghn!r}; choose from {', '.join(VARIANTS)}")
    v = VARIANTS[ghn]
    return dataclasses.replace(
        preset, ghn=ghn, meta_batch=v.meta_batch or preset.meta_batch, max_hops=v.max_hops or preset.max_hops
    )


def get_preset(name: str, ghn: str = "ghn2", **overrides) -> Preset:
    """Preset `name` for GHN variant `ghn`, with the non-None `overrides` applied."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(Preset)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown preset fields {sorted(unknown)}")
    if VARIANTS.get(ghn) and VARIANTS[ghn].decoder == "ghn3" and overrides.get("decoder_init") not in (None, "ghn2"):
        raise ValueError(
            f"--decoder-init {overrides['decoder_init']}: --ghn {ghn} starts from GHN-3's own init; drop --decoder-init"
        )
    for field, choices in CHOICES.items():
        if overrides.get(field) not in (None, *choices):
            raise ValueError(f"--{field.replace('_', '-')} {overrides[field]!r}: choose from {', '.join(choices)}")
    preset = dataclasses.replace(
        for_variant(PRESETS[name], ghn), **{k: v for k, v in overrides.items() if v is not None}
    )
    if VARIANTS[ghn].decoder == "ghn3" and preset.decoder_init == "hyperfan":
        raise ValueError(
            f"preset {name} sets decoder_init hyperfan, which rescales GHN-2's decoder; --ghn {ghn} starts from "
            f"GHN-3's own init: run it at a preset without hyperfan"
        )
    return preset
