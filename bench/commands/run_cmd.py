"""`bench run`, `bench train` and `bench eval`: set a run up, train or reuse its GHN, evaluate it
and write its records."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.commands.options import (
    add_nproc,
    add_property_lens,
    add_run_options,
    check_device,
    check_writable,
    chosen_view,
    preset_overrides,
)
from bench.config.paths import checkpoint_root, results_root
from bench.launchers.threads import set_threads


def setup(args: argparse.Namespace, writes: tuple[str, ...] = ("checkpoints",)):
    """Data, preset and training spec of a run/train/eval/predict command, after checking that
    the output folders in `writes` (checkpoints, results) can be written."""
    from bench.config.presets import check_dataset, get_preset
    from bench.harness.data import load_data
    from bench.harness.train import TrainSpec
    from gnn_zoo import resolve_variant

    set_threads(args.threads)
    args.ghn, args.gnn = resolve_variant(args.ghn, args.gnn)
    args.view = chosen_view(args.gnn, args.view)
    check_device(args.device)
    preset = get_preset(args.preset, ghn=args.ghn, view=args.view, **preset_overrides(args))
    check_dataset(preset, args.dataset)
    folders = {"checkpoints": (args.checkpoints, checkpoint_root), "results": (args.results, results_root)}
    for name in writes:
        given, default = folders[name]
        check_writable(given or default(), f"--{name}" if given else "GHNBENCH_HOME")
    data = load_data(args.dataset, args.data_dir, download=args.download, resize=preset.resize)
    return data, preset, TrainSpec(args.gnn, args.backend, args.dataset, preset, args.seed)


def train_step(args, data, spec):
    """Train, resume or reuse the GHN of `spec`; returns the TrainReport (None on ranks other
    than 0 of a multi-process run: they only help train)."""
    from bench.config.schema import model_label
    from bench.harness.ddp import setup as join
    from bench.harness.ddp import teardown
    from bench.harness.train import train

    ctx = join(args.device)
    root = Path(args.checkpoints or checkpoint_root())
    if ctx.main:
        print(training_plan(spec, root), flush=True)
    try:
        report = train(spec, data, root, args.device, progress=not args.no_progress, ctx=ctx)
    finally:
        teardown(ctx)
    if not ctx.main:
        return None
    verb = "reused" if report.resumed_from == report.steps else "trained"
    model = model_label({"gnn": spec.gnn, "backend": spec.backend, "ghn": spec.preset.ghn, "view": spec.preset.view})
    print(
        f"{verb} GHN ({model}, {report.steps} steps, {report.seconds:.0f} s, "
        f"{report.skipped} skipped): {report.checkpoint}"
    )
    return report


def training_plan(spec, root: Path) -> str:
    """One line before training: a new GHN (its steps and the preset's measured minutes), a resumed
    one (from which step) or a finished one that is reused."""
    from bench.config.schema import model_label
    from bench.harness.train import load_checkpoint

    p, path = spec.preset, spec.checkpoint(root)
    model = model_label({"gnn": spec.gnn, "backend": spec.backend, "ghn": p.ghn, "view": p.view})
    done = load_checkpoint(path)["train"]["step"] if path.exists() else 0
    if done >= p.steps:
        return f"reusing the trained GHN ({model}, {p.steps} steps): {path}"
    from bench.config.presets import PRESETS, TIMED_ON

    named = PRESETS.get(p.name)  # its measured minutes are for the named preset's steps
    minutes = p.job_minutes.train * (p.steps - done) / named.steps if p.job_minutes and named else None
    about = f", about {minutes:.0f} min on {TIMED_ON}" if minutes and minutes >= 1 else ""
    if done:
        return f"resuming the GHN's training ({model}) from step {done} of {p.steps}{about}: {path}"
    return f"training a new GHN ({model}, {p.label}: {p.steps} steps{about})"


def run_train(args: argparse.Namespace) -> int:
    """Run `bench train`."""
    data, _, spec = setup(args)
    train_step(args, data, spec)
    return 0


def evaluate_and_record(args, data, spec, ckpt: Path, train_seconds: float | None) -> int:
    """Evaluate the GHN in `ckpt` on each of args.split, print the summaries and write one record
    per split (each as soon as it is done, so an interrupted run keeps the finished splits)."""
    from bench.harness.baselines import BaselineStore, baseline_key
    from bench.harness.evaluate import evaluate
    from bench.harness.run_record import build_record
    from gnn_zoo import GHN

    preset, results = spec.preset, Path(args.results or results_root())
    ghn = GHN.load(ckpt, backend=args.backend)
    for split in args.split:
        store = BaselineStore(results / ".baselines", baseline_key(args.dataset, split, preset, args.seed, args.device))
        cpu = time.process_time()
        result = evaluate(
            ghn, split, data, preset, args.seed, args.device, progress=not args.no_progress, baselines=store
        )
        cpu = time.process_time() - cpu
        record = {
            **build_record(args, spec, split, result, ghn, ckpt, train_seconds, cpu),
            "baselines": store.summary(),
        }
        save_and_show(results, record, preset.sgd_steps)
    return 0


def save_and_show(results: Path, record: dict, sgd_steps: int) -> None:
    """Write a split's record (as soon as it is done) and print its summary and path."""
    from bench.config.schema import write_record

    path = write_record(results, record)
    print(what_was_measured(record))
    print(format_metrics(record["split"], record["metrics"], sgd_steps, record["archs"]))
    catch_up = format_catch_up(record.get("finetune"))
    if catch_up:
        print(catch_up)
    for line in reading(record, sgd_steps):
        print(line)
    print(f"record: {path}")


def what_was_measured(record: dict) -> str:
    """One line naming what a record's table measured: nets, images, data set, preset, seed."""
    fields = record.get("preset_fields") or {}
    nets, images = record["metrics"].get("ghn", {}).get("n"), fields.get("eval_images")
    return (
        f"{record['split']}: its first {nets} nets, each scored on {images or 'the'} {record['dataset']} "
        f"eval images (preset {record['preset']}, seed {record['seed']})"
    )


def reading(record: dict, k: int) -> list[str]:
    """A line of reading of a record's table: the GHN against random init on the same nets and
    against k SGD steps on the nets that baseline ran on; a warning for a collapsed run."""
    rows, m = record["archs"], record["metrics"]
    lines = []
    if "ghn" in m and "random_init" in m:
        gain = m["ghn"]["mean"] - m["random_init"]["mean"]
        text = (
            f"reading: predicted parameters score {m['ghn']['mean']:.1f}%, {gain:+.1f} points against random "
            f"init on the same {m['ghn']['n']} nets"
        )
        sgd = [r for r in rows if r.get("sgd") is not None and r.get("ghn") is not None]
        if sgd:
            ghn_there = sum(r["ghn"] for r in sgd) / len(sgd)
            text += (
                f"; {k} SGD steps from random init reach {sum(r['sgd'] for r in sgd) / len(sgd):.1f}% on "
                f"{len(sgd)} of them, where the GHN scores {ghn_there:.1f}% (with {len(sgd)} nets that "
                f"baseline is rough: stderr {m['sgd']['stderr']:.1f})"
            )
        lines.append(text)
    if (record.get("training") or {}).get("collapsed"):
        lines.append(
            "warning: this run collapsed (training loss at chance over its last steps, or no better than "
            "random init): its GHN predicts near-constant outputs; it stays in every table, counted"
        )
    return lines


def format_metrics(split: str, metrics: dict, k: int, rows: list[dict]) -> str:
    """A small table: method, top-1 mean +- stderr, max, top-5 mean, number of architectures; in
    the named splits (ood-predefined, ood-torchvision) one line per net instead, as each is
    reported apart."""
    from bench.config.schema import method, parse_method
    from bench.harness.evaluate import METHODS, top5
    from deepnets1m.named import NAMED_SPLITS

    methods = [m for m in METHODS if m in metrics]
    if split in NAMED_SPLITS:
        short = {"ghn": "GHN", "random_init": "random init", "sgd": f"{k} SGD steps"}
        lines = [
            f"{split}: top-1 / top-5 accuracy (%)",
            f"  {'net':20} " + " ".join(f"{short[m]:>14}" for m in methods),
        ]
        for row in rows:
            cells = " ".join(
                f"{'-':>14}" if row.get(m) is None else f"{row[m]:6.2f} / {row.get(top5(m), 0):5.1f}" for m in methods
            )
            lines.append(f"  {row['arch']:20} {cells}")
        return "\n".join(lines)
    names = {
        "ghn": "GHN (predicted, no training)",
        "random_init": "random init",
        "sgd": f"{k} SGD steps from random init",
    }
    lines = [
        f"{split}: top-1 accuracy (%)",
        f"  {'method':34} {'mean':>7} {'stderr':>7} {'max':>7} {'top-5':>7} {'nets':>5}",
    ]
    for k_ in sorted({k for k in map(parse_method, metrics) if k is not None}):  # fine-tuning (--finetune), per K
        methods += [method(k_), method(k_, random=True)]
        names[method(k_)], names[method(k_, random=True)] = f"GHN init + {k_} steps", f"random init + {k_} steps"
    for m in methods:
        s, t5 = metrics[m], metrics.get(top5(m), {}).get("mean", float("nan"))
        lines.append(f"  {names[m]:34} {s['mean']:7.2f} {s['stderr']:7.2f} {s['max']:7.2f} {t5:7.2f} {s['n']:5d}")
    return "\n".join(lines)


def format_catch_up(finetune: dict | None) -> str | None:
    """One line per K: the median steps random init needed to reach the GHN init's accuracy."""
    if not finetune or not finetune.get("catch_up"):
        return None
    lines = ["steps random init needs to reach the GHN init's top-1 after K steps (median over nets):"]
    for k, c in finetune["catch_up"].items():
        median = f"more than {max(finetune['steps'])}" if c["median_steps"] is None else f"{c['median_steps']:g}"
        lines.append(
            f"  K = {k:>5}: {median} ({c['never']} of {c['nets']} nets never within {max(finetune['steps'])} steps)"
        )
    return "\n".join(lines)


def run_run(args: argparse.Namespace) -> int:
    """Run `bench run`: train (or reuse), evaluate on the split, write the record."""
    from bench.commands.lens import lens_record, property_lens

    data, _, spec = setup(args, writes=("checkpoints", "results"))
    lens = property_lens(args)  # before training: missing labels fail fast
    report = train_step(args, data, spec)
    if report is None:
        return 0
    if lens is not None:  # before evaluating: a job whose records are all there has its property record too
        lens_record(args, data, spec.preset.label, report.checkpoint, lens)
    code = evaluate_and_record(args, data, spec, report.checkpoint, report.seconds)
    print(next_steps(args, spec.preset))
    return code


def next_steps(args: argparse.Namespace, preset) -> str:
    """What to run after a first `bench run`."""
    results = f" --results {args.results}" if args.results else ""
    return (
        f"next: `bench leaderboard{results}` tables every run recorded so far; one seed tells little (a GHN's "
        f"seed moves its accuracy by several points), so compare cores with `bench sweep --gnn all --split "
        f"{','.join(args.split)} --preset {preset.name} --seeds 5`"
        + (
            "; tiny is a minutes-long CPU budget, the published ranking trains at --preset rank"
            if preset.name == "tiny"
            else ""
        )
    )


def run_eval(args: argparse.Namespace) -> int:
    """Run `bench eval`: evaluate an already trained GHN (or a reference-format one)."""
    reference = None
    if args.reference_ckpt:
        from gnn_zoo import load_reference

        reference = load_reference(args.reference_ckpt)
        args.gnn = args.gnn or reference.config["core"]  # the reference's core; nothing is trained
    data, preset, spec = setup(args, writes=("results",))
    if reference is not None:
        return evaluate_reference(args, reference, data, preset)
    ckpt, state = trained_checkpoint(args, spec)
    return evaluate_and_record(args, data, spec, ckpt, state["seconds"])


def trained_checkpoint(args: argparse.Namespace, spec) -> tuple[Path, dict]:
    """The trained GHN a command evaluates (--ckpt, else the one `bench train` wrote for `spec`)
    and its training state; a ValueError naming the command that trains or finishes it."""
    from bench.harness.train import load_checkpoint

    ckpt = Path(args.ckpt) if args.ckpt else spec.checkpoint(Path(args.checkpoints or checkpoint_root()))
    if not ckpt.exists():
        variant = "" if args.ghn == "ghn2" else f"--ghn {args.ghn} "
        raise ValueError(
            f"no trained GHN at {ckpt}; train it first with `bench train {variant}--gnn {args.gnn} "
            f"--backend {args.backend} --dataset {args.dataset} --preset {args.preset} --seed {args.seed}` "
            f"(or use `bench run`)"
        )
    state = load_checkpoint(ckpt)["train"] if not args.ckpt else {"step": None, "seconds": None}
    if state["step"] is not None and state["step"] < spec.preset.steps:
        raise ValueError(
            f"{ckpt} stopped at step {state['step']} of {spec.preset.steps}; finish it with `bench train` first"
        )
    return ckpt, state


def configure_run(p: argparse.ArgumentParser) -> None:
    """`bench run`'s options."""
    add_run_options(p, split=True)
    add_nproc(p)
    add_property_lens(p)
    p.set_defaults(func=run_run)


def configure_train(p: argparse.ArgumentParser) -> None:
    """`bench train`'s options (no evaluation flags: it evaluates nothing)."""
    add_run_options(p, split=False, evaluates=())
    add_nproc(p)
    p.set_defaults(func=run_train)


def evaluate_reference(args: argparse.Namespace, ghn, data, preset) -> int:
    """Evaluate a GHN loaded from a reference code's file on each of args.split and write one
    record per split, a `ghn2-official (predictor)` or `ghn3-official (predictor)` row of the
    preset's table."""
    from bench.harness.evaluator import predictor_record
    from gnn_zoo import official_name

    results = Path(args.results or results_root())
    for split in args.split:
        save_and_show(
            results,
            predictor_record(
                ghn,
                official_name(ghn),
                split,
                data,
                args.dataset,
                preset,
                results,
                args.seed,
                args.device,
                progress=not args.no_progress,
            ),
            preset.sgd_steps,
        )
    return 0


def configure_eval(p: argparse.ArgumentParser) -> None:
    """`bench eval`'s options."""
    add_run_options(p, split=True)
    p.add_argument("--ckpt", default=None, help="GHN checkpoint (default: the one `bench train` wrote)")
    p.add_argument(
        "--reference-ckpt",
        default=None,
        metavar="PATH",
        help="a checkpoint of a reference code: a GHN-3 hub file (ghn3tm8.pt, ...) or GHN-2's "
        "(ghn2_cifar10.pt); its rows are named `ghn3-official (predictor)` or `ghn2-official "
        "(predictor)`",
    )
    p.set_defaults(func=run_eval)
