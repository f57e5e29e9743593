"""The `bench` command line: parses and dispatches. Only the chosen subcommand's module is
imported (`bench --help` and `bench leaderboard` never load torch's GNN stack for `run`)."""

from __future__ import annotations

import argparse
import importlib
import re
import sys

# subcommand -> (help, "module:function" that adds its options and sets its func)
COMMANDS = {
    "run": (
        "train a GHN with a GNN core (or reuse it), evaluate it on a split, record it",
        "bench.commands.run_cmd:configure_run",
    ),
    "train": ("train (or resume) a GHN on DeepNets-1M train architectures", "bench.commands.run_cmd:configure_train"),
    "eval": ("evaluate a trained GHN on a split and record it", "bench.commands.run_cmd:configure_eval"),
    "predict": (
        "predict the parameters of a torchvision model or your own module",
        "bench.commands.predict_cmd:configure",
    ),
    "generate": (
        "generate a DeepNets-1M split's architectures and graphs into the cache",
        "bench.commands.generate_cmd:configure",
    ),
    "sweep": (
        "run the gnn x backend x split x seed grid as cluster or local jobs (resumable)",
        "bench.commands.sweep_cmd:configure",
    ),
    "leaderboard": (
        "index result records and render the leaderboard (Markdown, HTML, CSV, plots)",
        "bench.commands.leaderboard_cmd:configure",
    ),
    "publish": (
        "regenerate README's and docs' published tables from the shipped records (--check: compare only)",
        "bench.commands.publish_cmd:configure",
    ),
    "profile": (
        "measure speed (graphs, prediction, training, evaluation) and peak memory",
        "bench.commands.profile_cmd:configure",
    ),
    "properties": (
        "predict properties of unseen nets from a trained GHN's embeddings (Kendall tau)",
        "bench.commands.properties_cmd:configure",
    ),
    "reproduce": (
        "retrain and rescore one record's run from its fields; report the difference per net",
        "bench.commands.reproduce_cmd:configure",
    ),
    "list-checkpoints": (
        "list the trained GHNs (names for gnn_zoo.load) with their core, steps and scores",
        "bench.commands.checkpoints_cmd:configure",
    ),
}


# a few example lines shown under each command's --help
EXAMPLES = {
    "run": [
        "bench run --gnn gatedgnn --split val",
        "bench run --gnn gat --split val,ood-deep --seed 1",
        "bench run --ghn mlp --split all --preset rank",
        "bench run --gnn mycore.py:MyCore --split val",
    ],
    "train": ["bench train --gnn gcn", "bench train --gnn gcn --preset rank --threads 1"],
    "eval": [
        "bench eval --gnn gcn --split ood-deep",
        "bench eval --reference-ckpt ghn2_cifar10.pt --split val --dataset cifar10 --data-dir DIR",
    ],
    "predict": [
        "bench predict --gnn gatedgnn --model resnet18",
        "bench predict --ckpt ghn.pt --model mynet.py:Net --save mynet.pt",
    ],
    "generate": ["bench generate --split train --n 100000"],
    "sweep": [
        "bench sweep --gnn all --ghn ghn2,mlp --split val,ood-deep --preset rank --seeds 6",
        "bench sweep --gnn all --split val --target-diff 4 --dry-run",
        "bench sweep --gnn all --split all --launcher slurm --partition gpu --device cuda --preset paper",
    ],
    "leaderboard": ["bench leaderboard", "bench leaderboard --out site/ --reference"],
    "publish": ["bench publish", "bench publish --check"],
    "profile": [
        "bench profile",
        "bench profile --only predict_resnet50 --gnn all",
        "bench profile --phases --step tiny",
    ],
    "properties": ["bench properties --gnn gatedgnn", "bench properties --gnn gcn --seed 1 --nets 200"],
    "reproduce": ["bench reproduce results/variance-study/gcn_pyg_val_digits_rank_0.json"],
    "list-checkpoints": ["bench list-checkpoints"],
}


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line (not the usage dump) with a `did you mean`
    for a mistyped choice."""

    def error(self, message: str):
        hint = did_you_mean(message)
        self.exit(2, f"{self.prog}: error: {message}{hint} (`{self.prog} --help` lists the options)\n")


def did_you_mean(message: str) -> str:
    """ "; did you mean X?" when `message` names a bad value and the choices it should be among."""
    import difflib

    bad = re.search(r"(?:invalid choice|unknown \w+):? '?([^';, ]+)'?", message)
    listed = re.search(r"\((?:choose from|choices:) ([^)]*)\)|choose from ([^;]*)", message)
    if not (bad and listed):
        return ""
    choices = [c.strip(" '\"") for c in (listed.group(1) or listed.group(2)).replace(" or ", ",").split(",")]
    close = difflib.get_close_matches(bad.group(1), [c for c in choices if c], n=1, cutoff=0.5)
    return f"; did you mean {close[0]}?" if close else ""


def parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: every subcommand listed, the options of the one named in `argv`
    (all of them when argv is None) added from its own module."""
    p = Parser(prog="bench", description="ghnbench: benchmark GNNs inside graph hypernetworks")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    for name, (help_text, target) in COMMANDS.items():
        examples = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES.get(name, ()))
        command = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=examples,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if argv is None or name == chosen:
            module, function = target.split(":")
            getattr(importlib.import_module(module), function)(command)
    return p


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


def version() -> str:
    """The installed ghnbench version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("ghnbench")
    except PackageNotFoundError:
        return "(not installed)"


ONE_SEED_COMMANDS = ("run", "train", "eval", "predict", "properties")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `bench` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # plain `bench`: the commands and what they do
        parser([]).print_help()
        return 0
    if argv[0] in ONE_SEED_COMMANDS and any(a == "--seeds" or a.startswith("--seeds=") for a in argv):
        print(
            f"bench {argv[0]}: error: --seeds is `bench sweep`'s (seeds 0..N-1 of a grid); `bench {argv[0]}` runs "
            f"one seed: pass --seed N, or run `bench sweep --gnn ... --seeds N`",
            file=sys.stderr,
        )
        return 2
    args = parser(argv).parse_args(argv)
    args.argv = argv  # what was typed, for messages that say how to rerun it
    if args.command in ("run", "train") and args.nproc > 1:  # a sweep passes --nproc on to its jobs
        from bench.harness.ddp import launched
        from bench.launchers.torchrun import launch

        if not launched():
            return launch(args.nproc, without_nproc(argv))
    try:
        return args.func(args)
    except KeyboardInterrupt as err:  # one line, not a traceback: what was kept and how to go on
        print(
            f"bench {args.command}: interrupted{': ' + str(err) if str(err) else ''}; run the same command again "
            f"to resume",
            file=sys.stderr,
        )
        return 130
    except (ValueError, RuntimeError, OSError, ImportError) as err:
        registry = sys.modules.get("gnn_zoo.registry")  # BackendUnavailable exists only once gnn_zoo is loaded
        if isinstance(err, ImportError) and not (registry and isinstance(err, registry.BackendUnavailable)):
            raise
        print(f"bench {args.command}: error: {err}", file=sys.stderr)
        return 2
