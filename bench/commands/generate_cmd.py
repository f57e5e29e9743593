"""`bench generate`: cache a DeepNets-1M split's architectures and graphs."""

from __future__ import annotations

import argparse

from bench.config.paths import graph_root


def configure(p: argparse.ArgumentParser) -> None:
    """`bench generate`'s options: cache a split's architectures (spec + graph) on disk."""
    from deepnets1m.splits import SPLIT_NAMES

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
        args.split,
        args.n,
        args.root or graph_root(),
        args.num_classes,
        args.in_channels,
        args.image_size,
        args.shard_size,
        args.workers,
        progress=not args.no_progress,
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
