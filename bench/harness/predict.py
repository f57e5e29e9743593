"""Predicting a given model's parameters: load and check the model before any GHN work, then
predict, calibrate BatchNorm statistics, and save parameters usable outside the benchmark."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from bench.harness.data import ChannelMismatch, ImageData, model_channels, with_channels
from bench.harness.nets import fit_input, logits_of
from deepnets1m.predefined import build_predefined
from gnn_zoo import calibrate_bn as calibrate
from gnn_zoo.api import batch_stat_mode

PROBE_SIZES = (32, 64, 75, 96, 128, 160, 224, 299)  # input sides tried when a model fails at the asked one


def load_model(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """A torchvision model by name, or a user's module given as path/to/file.py:Class or
    pkg.mod:Class (called with num_classes= and in_channels= when it takes them); ValueError
    naming --model and the problem for a missing file, a syntax error, a missing class or
    constructor arguments."""

    if ":" not in name:
        return build_predefined(name, num_classes, in_channels, image_size)
    where, attr = name.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            if not Path(where).exists():
                raise ValueError(f"--model {name}: no file {where}")
            module_spec = importlib.util.spec_from_file_location(Path(where).stem, where)
            if module_spec is None or module_spec.loader is None:
                raise ValueError(f"--model {name}: {where} cannot be imported as a Python module")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except SyntaxError as err:
        raise ValueError(f"--model {name}: {err.filename} line {err.lineno}: {err.msg}") from err
    except ImportError as err:
        raise ValueError(f"--model {name}: cannot import {where} ({err})") from err
    factory = getattr(module, attr, None)
    if factory is None:
        raise ValueError(f"--model {name}: {where} has no attribute {attr!r}")
    params = inspect.signature(factory).parameters
    given = {"num_classes": num_classes, "in_channels": in_channels}
    needed = [
        p
        for p, v in params.items()
        if v.default is v.empty and p not in given and v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)
    ]
    if needed:
        raise ValueError(
            f"--model {name}: {attr}() needs arguments {needed}; give it defaults, or point --model at "
            f"a function that builds the model without arguments"
        )
    model = factory(**{k: v for k, v in given.items() if k in params})
    if not isinstance(model, nn.Module):
        raise ValueError(f"--model {name}: {attr}() returned a {type(model).__name__}, not an nn.Module")
    return model


def input_channels(model: nn.Module, name: str, dataset: str, channels: int, size: int) -> int:
    """The channels `model` takes (bench.harness.data.model_channels: the data set's, or 3 for grey images,
    then repeated across them); a ValueError naming the data set's shape and the flag to change
    otherwise."""
    try:
        return model_channels(model, channels)
    except ChannelMismatch as err:
        raise ValueError(
            f"--model {name}: its first layer takes {err.wants} channels, but {dataset} images are "
            f"{channels}x{size}x{size}; pass --dataset with {err.wants}-channel images (cifar10, "
            f"cifar100, imagenet have 3), or give the model an in_channels argument (bench passes the "
            f"data set's)"
        ) from None


def leaf_classes(model: nn.Module, names: list[str]) -> tuple[type, ...]:
    """The module classes of `model` named in `names` (--leaf), to trace as single nodes."""
    classes = {type(m).__name__: type(m) for m in model.modules()}
    unknown = [n for n in names if n not in classes]
    if unknown:
        raise ValueError(
            f"--leaf {','.join(unknown)}: no such module class in the model; its classes: {', '.join(sorted(classes))}"
        )
    return tuple(classes[n] for n in names)


def check_runs(
    build: Callable[[int], nn.Module], name: str, size: int, in_channels: int, num_classes: int, device: torch.device
) -> nn.Module:
    """The model `build(size)` gives, after a forward pass on two blank images: ValueError before
    any GHN work when it fails there (naming the --image-size it needs, found by building and
    running it at PROBE_SIZES) or its output holds no [batch, num_classes] logits."""

    def runs(side: int, model: nn.Module | None = None):
        model = (model or build(side)).to(device)
        with torch.no_grad():
            return model, batch_stat_mode(model)(torch.zeros(2, in_channels, side, side, device=device))

    model = build(size)
    try:
        model, out = runs(size, model)
    except (RuntimeError, ValueError, IndexError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        for side in (s for s in PROBE_SIZES if s > size):
            try:
                runs(side)
            except (RuntimeError, ValueError, IndexError):
                continue
            raise ValueError(
                f"--model {name} does not run on {size}x{size} images ({reason}); "
                f"pass --image-size {side} (the smallest of {PROBE_SIZES} it runs on)"
            ) from err
        raise ValueError(
            f"--model {name} does not run on {size}x{size} images, nor on any of {PROBE_SIZES} ({reason})"
        ) from err
    logits = logits_of(out)
    if logits.dim() != 2 or logits.shape[1] != num_classes:
        raise ValueError(f"--model {name} returns {tuple(logits.shape)}, not logits [batch, {num_classes}]")
    return model


def calibrate_bn(
    model: nn.Module,
    data: ImageData,
    batches: int,
    size: int,
    device: torch.device,
    seed: int = 0,
    channels: int | None = None,
) -> int:
    """gnn_zoo.calibrate_bn on `batches` batches of 64 training images of `data` at `size` px,
    so the model works under a plain model.eval(); returns the batches used."""
    if batches == 0 or not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return 0

    images = (
        with_channels(fit_input(x.to(device), size), channels or x.shape[1]) for x, _ in data.train_batches(64, seed)
    )
    return calibrate(model, images, max_batches=batches)
