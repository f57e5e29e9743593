"""The three-line Python API: load a GHN, predict a model's parameters, calibrate its BatchNorm.

ghn = gnn_zoo.load("gatedgnn_pyg_digits_tiny_s0")   # a name under $GHNBENCH_HOME/checkpoints, or a path
model = ghn(resnet18(num_classes=10))                 # every parameter predicted
gnn_zoo.calibrate_bn(model, images)                   # BatchNorm running statistics, for model.eval()
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from .ghn import GHN
from .hub import HUB_REPOSITORY, from_hub, is_hub_file
from .reference import from_reference

CHECKPOINT_FORMAT = "ghnbench-ghn-1"


def checkpoint_root() -> Path:
    """Where `bench` keeps trained GHNs: $GHNBENCH_HOME/checkpoints (default ~/.cache/ghnbench)."""
    return Path(os.environ.get("GHNBENCH_HOME") or Path.home() / ".cache" / "ghnbench") / "checkpoints"


def resolve_checkpoint(name: str | os.PathLike) -> Path:
    """A checkpoint file from a path, or from a name under checkpoint_root(): the file itself, the
    name + .pt, or the one checkpoint whose name starts with it (a FileNotFoundError lists the
    candidates otherwise)."""
    path = Path(name)
    if path.is_file():
        return path
    root = checkpoint_root()
    for candidate in (root / str(name), root / f"{name}.pt"):
        if candidate.is_file():
            return candidate
    matches = sorted(root.glob(f"{name}*.pt")) if root.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    known = sorted(p.stem for p in root.glob("*.pt")) if root.is_dir() else []
    hint = (
        f"{len(matches)} checkpoints start with it: {', '.join(p.stem for p in matches[:5])}"
        if matches
        else f"known names: {', '.join(known[:8]) + (' ...' if len(known) > 8 else '')}"
        if known
        else f"none in {root}: train one with `bench train`, or pass a path"
    )
    raise FileNotFoundError(f"no GHN checkpoint {str(name)!r} ({hint})")


def load(name: str | os.PathLike, backend: str | None = None, map_location="cpu") -> GHN:
    """A trained GHN from a checkpoint `bench` wrote (a path, or a name: see resolve_checkpoint),
    from one the reference GHN-2 code saved (its ghn2_cifar10.pt / ghn2_imagenet.pt format), or
    from a GHN-3 (or GHN-2) file of the reference GHN-3 code's hub (gnn_zoo.hub: ghn3tm8.pt, ...,
    downloaded by hand)."""
    path = resolve_checkpoint(name)
    if is_hub_file(path):
        return from_hub(path)
    head = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(head, dict) and "config" in head and head.get("format") != CHECKPOINT_FORMAT and "epoch" in head:
        return from_reference(path, map_location)
    state = (head.get("train") or {}) if isinstance(head, dict) else {}
    if state.get("of") and state.get("step", 0) < state["of"]:
        warnings.warn(
            f"{path.name} is a training still in progress (step {state['step']} of {state['of']}): it "
            f"predicts what the GHN has learnt so far; finish it with `bench train` (same arguments)",
            stacklevel=2,
        )
    return GHN.load(path, backend=backend, map_location=map_location)


OFFICIAL_NAMES = {False: "ghn2-official", True: "ghn3-official"}  # rows of GHNs loaded from the reference codes' files


def load_reference(path: str | os.PathLike) -> GHN:
    """A GHN from a file of a reference code: the GHN-3 hub's format (GHN-3, or GHN-2 in it;
    gnn_zoo.hub) or the GHN-2 code's own ({"config", "state_dict", "epoch"}), in eval mode."""

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no reference GHN checkpoint at {path} (the GHN-3 hub's files, e.g. ghn3tm8.pt, "
            f"come from https://huggingface.co/{HUB_REPOSITORY}; GHN-2's from ppuda's releases)"
        )
    return (from_hub(path) if is_hub_file(path) else from_reference(path)).eval()


def official_name(ghn: GHN) -> str:
    """The row name of a GHN loaded with load_reference: ghn3-official or ghn2-official."""
    return OFFICIAL_NAMES[ghn.ghn3]


def batch_stat_mode(net: nn.Module) -> nn.Module:
    """Eval mode, except BatchNorm, which normalises with the batch's own statistics (as in the
    GHN papers' evaluation of predicted parameters; dropout and stochastic depth are off)."""
    net.eval()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train()
    return net


def calibrate_bn(model: nn.Module, batches: Iterable, max_batches: int | None = None) -> int:
    """Recompute every BatchNorm's running statistics as the plain average over `batches` (input
    tensors, or (inputs, labels) pairs), with BatchNorm in train mode and everything else in eval
    mode, no gradients; the model is left in eval mode, ready to use. Predicted parameters come
    without running statistics (GHNs never predict them), so a model used under model.eval()
    needs this first. Returns the number of batches used."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        model.eval()
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    batch_stat_mode(model)
    used = 0
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with torch.no_grad():
        for batch in batches:
            if max_batches is not None and used >= max_batches:
                break
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(x.to(device))
            used += 1
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()
    return used
