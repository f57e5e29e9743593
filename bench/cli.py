"""The `bench` command line."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from deepnets1m.splits import SPLIT_NAMES

from .leaderboard_cmd import add_leaderboard
from .predict_cmd import add_predict_options
from .options import NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT, POSITIVE_FLOAT, POSITIVE_INT, check_writable, on_off
from .paths import checkpoint_root, graph_root, results_root
from .profile import add_profile
from .sweep import add_sweep

DEVICES = ("cpu", "cuda")
# raised inside torch_geometric's own imports, not by anything a user can change
warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated", category=FutureWarning)


# preset fields that run/train/eval/predict/sweep accept as --flags, with their value types and ranges
PRESET_FLAGS = (("steps", POSITIVE_INT), ("meta_batch", POSITIVE_INT), ("batch_size", POSITIVE_INT),
                ("hidden", POSITIVE_INT), ("layers", POSITIVE_INT), ("lr", POSITIVE_FLOAT),
                ("max_train_params", POSITIVE_FLOAT), ("max_meta_nodes", POSITIVE_INT), ("eval_nets", POSITIVE_INT),
                ("eval_images", POSITIVE_INT), ("sgd_steps", NON_NEGATIVE_INT), ("sgd_nets", NON_NEGATIVE_INT),
                ("eval_noise", NON_NEGATIVE_FLOAT), ("amp", on_off))


def add_generate(sub: argparse._SubParsersAction) -> None:
    """`bench generate`: cache a split's architectures (spec + graph) on disk."""
    p = sub.add_parser("generate", help="generate a DeepNets-1M split's architectures and graphs into the cache")
    p.add_argument("--split", required=True, choices=SPLIT_NAMES, help="which split")
    p.add_argument("--n", type=int, default=None, help="first N architectures (default: the whole split)")
    p.add_argument("--root", default=None, help="cache folder (default: $GHNBENCH_HOME/graphs)")
    p.add_argument("--num-classes", type=int, default=10, help="classifier outputs (default 10)")
    p.add_argument("--in-channels", type=int, default=3, help="input image channels (default 3)")
    p.add_argument("--image-size", type=int, default=32, help="input image side in pixels (default 32)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--shard-size", type=int, default=500, help="architectures per shard file (default 500)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    """Run `bench generate`."""
    from deepnets1m.generate import generate

    report = generate(
        args.split, args.n, args.root or graph_root(), args.num_classes, args.in_channels, args.image_size,
        args.shard_size, args.workers, progress=not args.no_progress,
    )
    if report.generated == 0:
        print(f"all {report.n} {args.split} architectures were already cached in {report.folder}")
        return 0
    print(
        f"generated {report.generated} {args.split} architectures into {report.folder} "
        f"({report.n - report.generated} already cached) in {report.seconds:.1f} s: "
        f"{report.arch_per_s:.0f} arch/s, mean {report.mean_nodes:.0f} nodes, "
        f"mean {report.mean_params / 1e6:.2f}M parameters"
    )
    return 0


EVAL_SPLITS = tuple(s for s in SPLIT_NAMES if s != "train")


def choose(text: str, choices: tuple[str, ...], unknown: str) -> tuple[str, ...]:
    """`all` or a comma-separated subset of `choices` (repeats dropped); a ValueError starting
    with `unknown` names the values that are not among them."""
    names = choices if text == "all" else tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    bad = [n for n in names if n not in choices]
    if bad or not names:
        raise ValueError(f"{unknown} {', '.join(bad) or repr(text)}; choose from {', '.join(choices)} "
                         f"(comma-separated) or all")
    return names


def parse_splits(text: str) -> tuple[str, ...]:
    """`--split` value: one split, a comma-separated list, or `all` (every evaluation split)."""
    try:
        return choose(text, EVAL_SPLITS, "unknown split")
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
    return {field: getattr(args, field) for field, _ in PRESET_FLAGS}


def add_run_options(p: argparse.ArgumentParser, split: bool) -> None:
    """Options shared by run, train, eval and predict."""
    from gnn_zoo import BACKENDS, VARIANTS, available
    from gnn_zoo.views import VIEWS

    p.add_argument("--gnn", default=None, choices=sorted(available()),
                   help="GNN core of the GHN (required unless --ghn mlp)")
    p.add_argument("--ghn", default="ghn2", choices=tuple(VARIANTS),
                   help="GHN variant around the core, as in GHN-2's paper: ghn2 (default), ghn1 (no LayerNorm, "
                   "no output scaling, no virtual edges, meta-batch 1), mlp (the paper's one-MLP model, no --gnn needed)")
    p.add_argument("--backend", default="pyg", choices=BACKENDS, help="graph library (default pyg)")
    p.add_argument("--view", default=None, choices=VIEWS,
                   help="the graph view the core gets (default: its richest, as protocol v1 has it: virtual, or "
                   "gatedgnn's sweep, mlp's none); a view the core cannot take is refused")
    if split:
        p.add_argument("--split", required=True, type=parse_splits, metavar="SPLIT[,SPLIT...]|all",
                       help=f"DeepNets-1M split(s) to evaluate on: {', '.join(EVAL_SPLITS)}, a comma list, or all")
    p.add_argument("--seed", type=NON_NEGATIVE_INT, default=0, help="seed of the GHN training and of the evaluated nets' init")
    add_common_options(p)


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Data, preset, device and folder options shared by run, train, eval, predict and sweep."""
    from .data import DATASETS
    from .presets import PRESETS

    p.add_argument("--dataset", default="digits", choices=DATASETS, help="image data (default: embedded digits)")
    p.add_argument("--data-dir", default=None, help="folder holding cifar10/cifar100/imagenet files")
    p.add_argument("--preset", default="tiny", choices=sorted(PRESETS), help="settings (default tiny: CPU, minutes)")
    p.add_argument("--device", default="cpu", choices=DEVICES)
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (default $GHNBENCH_HOME/checkpoints)")
    p.add_argument("--results", default=None, help="result records folder (default $GHNBENCH_HOME/results)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    for field, kind in PRESET_FLAGS:
        flag = field.replace("_", "-")
        if kind is on_off:
            p.add_argument(f"--{flag}", type=kind, default=None, metavar="on|off",
                           help=f"override the preset's {field} (bfloat16 autocast where the device supports it)")
        else:
            p.add_argument(f"--{flag}", type=kind, default=None, help=f"override the preset's {field}")


def setup(args: argparse.Namespace, writes: tuple[str, ...] = ("checkpoints",)):
    """Data, preset and training spec of a run/train/eval/predict command, after checking that
    the output folders in `writes` (checkpoints, results) can be written."""
    from gnn_zoo import resolve_variant

    from .data import load_data
    from .presets import check_dataset, get_preset
    from .train import TrainSpec

    args.ghn, args.gnn = resolve_variant(args.ghn, args.gnn)
    args.view = chosen_view(args.gnn, args.view)
    check_device(args.device)
    preset = get_preset(args.preset, ghn=args.ghn, view=args.view, **preset_overrides(args))
    check_dataset(preset, args.dataset)
    folders = {"checkpoints": (args.checkpoints, checkpoint_root), "results": (args.results, results_root)}
    for name in writes:
        given, default = folders[name]
        check_writable(given or default(), f"--{name}" if given else "GHNBENCH_HOME")
    data = load_data(args.dataset, args.data_dir)
    return data, preset, TrainSpec(args.gnn, args.backend, args.dataset, preset, args.seed)


def train_step(args, data, spec):
    """Train, resume or reuse the GHN of `spec`; returns the TrainReport (None on ranks other
    than 0 of a multi-process run: they only help train)."""
    from .distributed import setup as join, teardown
    from .records import model_label
    from .train import train

    ctx = join(args.device)
    try:
        report = train(spec, data, Path(args.checkpoints or checkpoint_root()), args.device,
                       progress=not args.no_progress, ctx=ctx)
    finally:
        teardown(ctx)
    if not ctx.main:
        return None
    verb = "reused" if report.resumed_from == report.steps else "trained"
    model = model_label({"gnn": spec.gnn, "backend": spec.backend, "ghn": spec.preset.ghn, "view": spec.preset.view})
    print(f"{verb} GHN ({model}, {report.steps} steps, {report.seconds:.0f} s, "
          f"{report.skipped} skipped): {report.checkpoint}")
    return report


def run_train(args: argparse.Namespace) -> int:
    """Run `bench train`."""
    data, _, spec = setup(args)
    train_step(args, data, spec)
    return 0


def add_nproc(p: argparse.ArgumentParser) -> None:
    """--nproc: train as N local processes (torchrun --standalone); use torchrun itself across machines."""
    p.add_argument("--nproc", type=POSITIVE_INT, default=1, help="train with N processes on this machine, one per GPU with "
                   "--device cuda (DDP; default 1); across machines launch `torchrun ... -m bench run ...` instead")


def without_nproc(argv: list[str]) -> list[str]:
    """`argv` minus its --nproc option (the ranks it launches must not launch again)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def evaluate_and_record(args, data, spec, ckpt: Path, train_seconds: float | None) -> int:
    """Evaluate the GHN in `ckpt` on each of args.split, print the summaries and write one record
    per split (each as soon as it is done, so an interrupted run keeps the finished splits)."""
    from gnn_zoo import GHN

    from .evaluate import evaluate
    from deepnets1m.splits import GENERATOR_VERSION

    from .records import hardware, git_commit, now, versions, write_record

    preset, (_, protocol) = spec.preset, spec.core_setting()
    ghn = GHN.load(ckpt, backend=args.backend)
    for split in args.split:
        result = evaluate(ghn, split, data, preset, args.seed, args.device, progress=not args.no_progress)
        metrics = result.metrics()
        record = {
            "schema": "ghnbench-record-1", "gnn": args.gnn, "backend": args.backend, "split": split, "ghn": preset.ghn,
            "view": preset.view,
            "dataset": args.dataset, "preset": preset.label, "seed": args.seed, "metrics": metrics,
            "archs": result.rows, "eval_noise": preset.eval_noise, "deepnets1m_generator": GENERATOR_VERSION, "sgd_steps": preset.sgd_steps, "preset_fields": preset.__dict__,
            "ghn_params": sum(p.numel() for p in ghn.parameters()), "core": core_summary(ghn, protocol),
            "train_seconds": train_seconds,
            "predict_ms": metrics_mean(result.rows, "predict_ms"), "checkpoint": str(ckpt),
            "versions": versions(), "git_commit": git_commit(), "hardware": hardware(args.device), "created": now(),
        }
        path = write_record(args.results or results_root(), record)
        print(format_metrics(split, metrics, preset.sgd_steps, result.rows))
        print(f"record: {path}")
    return 0


def core_summary(ghn, protocol: str) -> dict:
    """What a record says of the compared core: name, graph view, layers, parameter count (all,
    and without embedding tables: the budget protocol v1 matches) and the protocol."""
    from gnn_zoo.base import embedding_params

    core = ghn.core
    params = sum(p.numel() for p in core.parameters())
    return {"name": core.name, "view": core.view, "layers": core.layers, "params": params,
            "params_without_embeddings": params - embedding_params(core), "protocol": protocol}


def metrics_mean(rows: list[dict], key: str) -> float:
    """Mean of one column of the per-architecture rows."""
    return sum(r[key] for r in rows) / len(rows)


def format_metrics(split: str, metrics: dict, k: int, rows: list[dict]) -> str:
    """A small table: method, top-1 mean +- stderr, max, top-5 mean, number of architectures; in
    the named splits (ood-predefined, ood-torchvision) one line per net instead, as each is
    reported apart."""
    from deepnets1m.predefined import NAMED_SPLITS

    from .evaluate import METHODS, top5

    methods = [m for m in METHODS if m in metrics]
    if split in NAMED_SPLITS:
        short = {"ghn": "GHN", "random_init": "random init", "sgd": f"{k} SGD steps"}
        lines = [f"{split}: top-1 / top-5 accuracy (%)", f"  {'net':20} " + " ".join(f"{short[m]:>14}" for m in methods)]
        for row in rows:
            cells = " ".join(f"{'-':>14}" if row.get(m) is None else f"{row[m]:6.2f} / {row.get(top5(m), 0):5.1f}"
                             for m in methods)
            lines.append(f"  {row['arch']:20} {cells}")
        return "\n".join(lines)
    names = {"ghn": "GHN (predicted, no training)", "random_init": "random init", "sgd": f"{k} SGD steps from random init"}
    lines = [f"{split}: top-1 accuracy (%)",
             f"  {'method':34} {'mean':>7} {'stderr':>7} {'max':>7} {'top-5':>7} {'nets':>5}"]
    for m in methods:
        s, t5 = metrics[m], metrics.get(top5(m), {}).get("mean", float("nan"))
        lines.append(f"  {names[m]:34} {s['mean']:7.2f} {s['stderr']:7.2f} {s['max']:7.2f} {t5:7.2f} {s['n']:5d}")
    return "\n".join(lines)


def run_run(args: argparse.Namespace) -> int:
    """Run `bench run`: train (or reuse), evaluate on the split, write the record."""
    data, _, spec = setup(args, writes=("checkpoints", "results"))
    report = train_step(args, data, spec)
    if report is None:
        return 0
    return evaluate_and_record(args, data, spec, report.checkpoint, report.seconds)


def run_eval(args: argparse.Namespace) -> int:
    """Run `bench eval`: evaluate an already trained GHN."""
    from .train import load_checkpoint

    data, preset, spec = setup(args, writes=("results",))
    ckpt = Path(args.ckpt) if args.ckpt else spec.checkpoint(Path(args.checkpoints or checkpoint_root()))
    if not ckpt.exists():
        variant = "" if args.ghn == "ghn2" else f"--ghn {args.ghn} "
        raise ValueError(f"no trained GHN at {ckpt}; train it first with `bench train {variant}--gnn {args.gnn} "
                         f"--backend {args.backend} --dataset {args.dataset} --preset {args.preset} --seed {args.seed}` "
                         f"(or use `bench run`)")
    state = load_checkpoint(ckpt)["train"] if not args.ckpt else {"step": None, "seconds": None}
    if state["step"] is not None and state["step"] < preset.steps:
        raise ValueError(f"{ckpt} stopped at step {state['step']} of {preset.steps}; finish it with `bench train` first")
    return evaluate_and_record(args, data, spec, ckpt, state["seconds"])


def parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    p = argparse.ArgumentParser(prog="bench", description="ghnbench: benchmark GNNs inside graph hypernetworks")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train a GHN with a GNN core (or reuse it), evaluate it on a split, record it")
    add_run_options(run, split=True)
    add_nproc(run)
    run.set_defaults(func=run_run)
    tr = sub.add_parser("train", help="train (or resume) a GHN on DeepNets-1M train architectures")
    add_run_options(tr, split=False)
    add_nproc(tr)
    tr.set_defaults(func=run_train)
    ev = sub.add_parser("eval", help="evaluate a trained GHN on a split and record it")
    add_run_options(ev, split=True)
    ev.add_argument("--ckpt", default=None, help="GHN checkpoint (default: the one `bench train` wrote)")
    ev.set_defaults(func=run_eval)
    pr = sub.add_parser("predict", help="predict the parameters of a torchvision model or your own module")
    add_run_options(pr, split=False)
    add_predict_options(pr)
    add_generate(sub)
    add_sweep(sub)
    add_leaderboard(sub)
    add_profile(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bench` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if args.command in ("run", "train") and args.nproc > 1:  # a sweep passes --nproc on to its jobs
        from .distributed import launch, launched

        if not launched():
            return launch(args.nproc, without_nproc(argv))
    from gnn_zoo import BackendUnavailable

    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError, BackendUnavailable) as err:
        print(f"bench {args.command}: error: {err}", file=sys.stderr)
        return 2
