"""Option value types shared by the `bench` subcommands: numbers with their ranges, on/off, and
the check that an output folder can be written, so bad input fails before any work starts."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.config.presets import CHOICES as PRESET_CHOICES  # the preset fields that take a name
from bench.config.schema import DATASETS


def on_off(text: str) -> bool:
    """An on/off flag value."""
    if text.lower() in ("on", "true", "1", "yes"):
        return True
    if text.lower() in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, not {text!r}")


def at_least(kind: type, minimum: float, strict: bool = False) -> Callable[[str], float]:
    """An argparse type: a `kind` number >= `minimum` (> with `strict`); argparse names the flag
    in its error."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, not {text!r}"
            ) from None
        if value < minimum or (strict and value == minimum) or value != value:
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {minimum}, not {text}")
        return value

    parse.__name__ = f"{kind.__name__} {'>' if strict else '>='} {minimum}"
    return parse


def step_list(text: str) -> tuple[int, ...]:
    """A comma list of step counts >= 1 (--finetune 10,50,200)."""
    try:
        steps = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected step counts separated by commas, e.g. 10,50,200, not {text!r}"
        ) from None
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError(f"step counts must be >= 1, e.g. 10,50,200, not {text!r}")
    return tuple(sorted(set(steps)))


step_list.__name__ = "step list"
POSITIVE_INT = at_least(int, 1)
NON_NEGATIVE_INT = at_least(int, 0)
POSITIVE_FLOAT = at_least(float, 0, strict=True)
NON_NEGATIVE_FLOAT = at_least(float, 0)


def fraction(text: str) -> float:
    """A number in [0, 1) (--warmup)."""
    value = NON_NEGATIVE_FLOAT(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1 (a fraction of the steps), not {text}")
    return value


def one_of(*choices: str) -> Callable[[str], str]:
    """An argparse type: one of `choices` (argparse names the flag in its error)."""

    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}, not {text!r}")
        return text

    parse.__name__ = "choice"
    return parse


def check_writable(folder: str | os.PathLike, setting: str) -> Path:
    """`folder`, created if needed, after proving a file can be written in it; else a ValueError
    naming the `setting` (a flag or environment variable) to change."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(
            f"{setting}: cannot write into {folder} ({err.strerror or err}); point {setting} at a writable folder"
        ) from err
    return folder


DEVICES = ("cpu", "cuda")
# preset fields that run/train/eval/predict/sweep accept as --flags, with their value types and ranges
PRESET_FLAGS = (
    ("steps", POSITIVE_INT),
    ("meta_batch", POSITIVE_INT),
    ("batch_size", POSITIVE_INT),
    ("hidden", POSITIVE_INT),
    ("layers", POSITIVE_INT),
    ("lr", POSITIVE_FLOAT),
    ("max_train_params", POSITIVE_FLOAT),
    ("max_meta_nodes", POSITIVE_INT),
    ("eval_nets", POSITIVE_INT),
    ("eval_images", POSITIVE_INT),
    ("sgd_steps", NON_NEGATIVE_INT),
    ("sgd_nets", NON_NEGATIVE_INT),
    ("eval_noise", NON_NEGATIVE_FLOAT),
    ("amp", on_off),
    ("finetune", step_list),
    ("finetune_nets", POSITIVE_INT),
    ("finetune_lr", POSITIVE_FLOAT),
    ("finetune_noise", NON_NEGATIVE_FLOAT),
    ("warmup", fraction),
    ("resize", POSITIVE_INT),
    ("weight_decay", NON_NEGATIVE_FLOAT),
    ("param_penalty", NON_NEGATIVE_FLOAT),
    *((name, one_of(*choices)) for name, choices in PRESET_CHOICES.items()),
)
FLAG_HELP = {  # flags whose meaning "override the preset's <field>" does not say
    "finetune": "K[,K...]: also fine-tune each evaluated net K steps from the predicted parameters and from random "
    "init (same batches, SGD as the SGD baseline) and record both accuracies after each K and the steps "
    'random init needs to catch up (docs/bench.md, "Fine-tuning")',
    "finetune_nets": "fine-tune the first N evaluated nets (default 5)",
    "finetune_lr": "fine-tuning SGD's learning rate for both inits (default: the SGD baseline's, 0.05 in tiny)",
    "resize": "N: resize the data set's images to N x N pixels (bilinear, antialiased) for training and every "
    'evaluation (default: their own size; docs/bench.md, "Fashion-MNIST")',
    "warmup": "F in [0, 1): raise the GHN's LR linearly over the first F of the training steps (default 0: none)",
    "optimizer": "adam (GHN-2: L2 weight decay; default) or adamw (GHN-3: decoupled weight decay)",
    "schedule": "step (x0.1 at the preset's milestones, GHN-2; default) or cosine (half cosine to 0 after the "
    "warmup, GHN-3)",
    "decoder_init": "ghn2 (torch's defaults; default), ghn3 (the decoder's last layers / 5, biases 0, as GHN-3) or "
    "hyperfan (scaled so predicted weights start at their fan-in variance; docs/bench.md)",
    "param_penalty": "P: add P x the sum of the predicted tensors' Frobenius norms to each net's loss (GHN-3: 3e-5; "
    "default 0)",
    "finetune_noise": "STD: add Gaussian noise of STD x each weight's own std to the predicted weights before "
    "fine-tuning (default 0)",
}


def eval_splits() -> tuple[str, ...]:
    """Every split a GHN is evaluated on (all but train)."""
    from deepnets1m.splits import SPLIT_NAMES

    return tuple(s for s in SPLIT_NAMES if s != "train")


def choose(text: str, choices: tuple[str, ...], unknown: str) -> tuple[str, ...]:
    """`all` or a comma-separated subset of `choices` (repeats dropped); a ValueError starting
    with `unknown` names the values that are not among them."""
    names = choices if text == "all" else tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [n for n in names if n not in choices]
    if bad or not names:
        raise ValueError(
            f"{unknown} {', '.join(bad) or repr(text)}; choose from {', '.join(choices)} (comma-separated) or all"
        )
    return names


def parse_splits(text: str) -> tuple[str, ...]:
    """`--split` value: one split, a comma-separated list, or `all` (every evaluation split)."""
    try:
        return choose(text, eval_splits(), "unknown split")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def usable_backends(text: str) -> tuple[str, ...]:
    """`--backend` value of sweep/profile (a comma list or all), each backend's library importable here."""
    from gnn_zoo import BACKENDS, BackendUnavailable, require_backend

    backends = choose(text, BACKENDS, "--backend: unknown value")
    for backend in backends:
        try:
            require_backend(backend)
        except BackendUnavailable as err:
            raise ValueError(f"--backend {text}: {err}; or leave {backend} out of --backend") from err
    return backends


def check_device(device: str) -> None:
    """A clear error for --device cuda where torch sees no GPU."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is visible to torch here; use --device cpu")


def chosen_view(gnn: str, view: str | None) -> str | None:
    """`--view` as a run's identity holds it: None for the core's default view; a view the core
    cannot take is a clear error before any work."""
    from gnn_zoo.registry import core_class
    from gnn_zoo.views import check_view

    cls = core_class(gnn, "pyg")  # a core takes the same views on both backends (its PyG class reads without DGL)
    if view is None or view == cls.default_view():
        return None
    check_view(view, cls.views, gnn)
    return view


def preset_overrides(args: argparse.Namespace) -> dict:
    """The preset fields given as --flags (None where not given)."""
    return {field: getattr(args, field, None) for field, _ in PRESET_FLAGS}  # flags a command lacks: the preset's


def core_name(text: str) -> str:
    """A --gnn value: a registered core's name, or a plugin core (file.py:Class, pkg.module:Class)
    registered on the way and named by its class (argparse reports a ValueError as bad input)."""
    from gnn_zoo import available
    from gnn_zoo.plugins import resolve_gnn

    try:
        name = resolve_gnn(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    if name not in available():
        raise argparse.ArgumentTypeError(
            f"unknown core {text!r}; choose from {', '.join(sorted(available()))}, or pass your own as file.py:Class"
        )
    return name


EVAL_FLAGS = (
    "eval_nets",
    "eval_images",
    "sgd_steps",
    "sgd_nets",
    "eval_noise",
    "finetune",
    "finetune_nets",
    "finetune_lr",
    "finetune_noise",
)  # what only evaluation reads


def add_run_options(p: argparse.ArgumentParser, split: bool, evaluates: tuple[str, ...] = EVAL_FLAGS) -> None:
    """Options shared by run, train, eval and predict, in groups (model / data / budget /
    output); `evaluates`: the evaluation-only preset flags the command has (train: none)."""
    from gnn_zoo import BACKENDS, VARIANTS, available
    from gnn_zoo.plugins import load_entry_points
    from gnn_zoo.views import VIEWS

    load_entry_points()
    model = p.add_argument_group("model")
    model.add_argument(
        "--gnn",
        default=None,
        type=core_name,
        metavar="{" + ",".join(sorted(available())) + "} or FILE.py:CLASS",
        help="GNN core of the GHN (required unless --ghn mlp or ghn3): a zoo core, or your own gnn_zoo.Core "
        "subclass as file.py:Class or pkg.module:Class",
    )
    model.add_argument(
        "--ghn",
        default="ghn2",
        choices=tuple(VARIANTS),
        help="GHN variant around the core: as in GHN-2's paper, ghn2 (default), ghn1 (no LayerNorm, "
        "no output scaling, no virtual edges, meta-batch 1), mlp (the paper's one-MLP model, no --gnn "
        "needed); ghn3 (GHN-3 as published: its 3-layer graph transformer, decoder and init; no --gnn "
        "needed)",
    )
    model.add_argument("--backend", default="pyg", choices=BACKENDS, help="graph library (default pyg)")
    model.add_argument(
        "--view",
        default=None,
        choices=VIEWS,
        help="the graph view the core gets (default: its richest, as protocol v1 has it: virtual, or "
        "gatedgnn's sweep, mlp's none); a view the core cannot take is refused",
    )
    model.add_argument(
        "--seed", type=NON_NEGATIVE_INT, default=0, help="seed of the GHN training and of the evaluated nets' init"
    )
    if split:
        p.add_argument_group("data").add_argument(
            "--split",
            required=True,
            type=parse_splits,
            metavar="SPLIT[,SPLIT...]|all",
            help=f"DeepNets-1M split(s) to evaluate on: {', '.join(eval_splits())}, a comma list, or all",
        )
    add_common_options(p, evaluates)


def group(p: argparse.ArgumentParser, title: str):
    """The argument group `title` of `p` (made once, found again after)."""
    found = next((g for g in p._action_groups if g.title == title), None)
    return found or p.add_argument_group(title)


def add_common_options(p: argparse.ArgumentParser, evaluates: tuple[str, ...] = EVAL_FLAGS) -> None:
    """Data, budget (preset and its overrides; of the evaluation-only ones, `evaluates`) and
    output options shared by run, train, eval, predict and sweep."""
    from bench.config.presets import PRESETS

    data = group(p, "data")
    data.add_argument("--dataset", default="digits", choices=DATASETS, help="image data (default: embedded digits)")
    data.add_argument("--data-dir", default=None, help="folder holding fashion-mnist/cifar10/cifar100/imagenet files")
    data.add_argument(
        "--download",
        action="store_true",
        help="cifar10/cifar100: download them (torchvision's downloader) into --data-dir, default "
        "$GHNBENCH_HOME/data, on a machine with internet",
    )
    budget = group(p, "budget (a preset, any field overridable)")
    budget.add_argument(
        "--preset",
        default="tiny",
        choices=sorted(PRESETS),
        help="settings (default tiny: CPU, minutes; rank: the ranking's; paper: GHN-2's recipe)",
    )
    for field, kind in PRESET_FLAGS:
        if field in EVAL_FLAGS and field not in evaluates:
            continue
        flag = field.replace("_", "-")
        if kind is on_off:
            budget.add_argument(
                f"--{flag}",
                type=kind,
                default=None,
                metavar="on|off",
                help=f"override the preset's {field} (bfloat16 autocast where the device supports it)",
            )
        else:
            budget.add_argument(
                f"--{flag}", type=kind, default=None, help=FLAG_HELP.get(field, f"override the preset's {field}")
            )
    output = group(p, "device and output")
    output.add_argument("--device", default="cpu", choices=DEVICES)
    output.add_argument("--checkpoints", default=None, help="checkpoint folder (default $GHNBENCH_HOME/checkpoints)")
    output.add_argument("--results", default=None, help="result records folder (default $GHNBENCH_HOME/results)")
    output.add_argument("--no-progress", action="store_true", help="hide progress bars (a line per checkpoint instead)")
    add_threads(output)


def add_nproc(p: argparse.ArgumentParser) -> None:
    """--nproc: train as N local processes (torchrun --standalone); use torchrun itself across machines."""
    p.add_argument(
        "--nproc",
        type=POSITIVE_INT,
        default=1,
        help="train with N processes on this machine, one per GPU with "
        "--device cuda (DDP; default 1); across machines launch `torchrun ... -m bench run ...` instead",
    )


def add_property_lens(p: argparse.ArgumentParser) -> None:
    """--properties DIR, --property-nets N: also score each trained GHN's embeddings lens into DIR."""
    lens = group(p, "device and output")
    lens.add_argument(
        "--properties",
        default=None,
        metavar="DIR",
        help="also score each trained GHN's embeddings on the property nets (as `bench properties --out DIR`, "
        "label recipe defaults) before evaluating it, and write its property record into DIR; the nets' "
        "shared labels must be in DIR/.labels (`bench properties --labels-only --out DIR` computes them)",
    )
    lens.add_argument(
        "--property-nets",
        type=POSITIVE_INT,
        default=1000,
        help="with --properties: the property nets, as `bench properties --nets` (default 1000)",
    )


def add_threads(p: argparse.ArgumentParser) -> None:
    """--threads: torch's intra-op threads (default: OMP_NUM_THREADS if set, else the usable CPUs)."""
    p.add_argument(
        "--threads",
        type=POSITIVE_INT,
        default=None,
        help="CPU threads (default: $OMP_NUM_THREADS if set, else the CPUs this process may use: "
        "affinity and cgroup quota)",
    )
