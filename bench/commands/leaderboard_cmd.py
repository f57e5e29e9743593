"""`bench leaderboard`: the CLI face of the leaderboard package (imported only when called)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from bench.config.paths import db_path, properties_root, results_root


def ranked_method(text: str) -> str:
    """A --method value: ghn, sgd, random_init, or ftK (K >= 1)."""
    from bench.config.schema import parse_method

    if text in ("ghn", "sgd", "random_init") or parse_method(text) is not None:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown method {text!r}: choose ghn, sgd, random_init or ftK (e.g. ft50, "
        f"for records evaluated with --finetune 50)"
    )


def as_of_time(text: str) -> str:
    """An --as-of value: an ISO 8601 time, as UTC in the records' own format."""
    import datetime

    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-12-07T12:00:00+00:00, not {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")


def configure(p: argparse.ArgumentParser) -> None:
    """`bench leaderboard`'s options."""
    p.add_argument(
        "--results",
        action="append",
        default=None,
        help="folder of result records, repeatable to merge several (default $GHNBENCH_HOME/results)",
    )
    p.add_argument("--db", default=None, help="SQLite index (default $GHNBENCH_HOME/leaderboard.sqlite)")
    p.add_argument("--dataset", default=None, help="only this data set (default: one table per data set and preset)")
    p.add_argument("--preset", default=None, help="only this preset")
    p.add_argument(
        "--method",
        default="ghn",
        type=ranked_method,
        metavar="{ghn,sgd,random_init,ftK}",
        help="whose accuracy to rank: predicted params (default), k SGD steps, random init, or ftK: "
        "after K fine-tuning steps from predicted params (records of `--finetune K`), beside random "
        "init fine-tuned alike",
    )
    p.add_argument(
        "--metric",
        default="auto",
        choices=("auto", "top1", "top5"),
        help="top-1 or top-5 accuracy; auto (default): top-5 on ImageNet, top-1 elsewhere, as the "
        "GHN papers report them",
    )
    p.add_argument("--format", default="md", choices=("md", "html", "csv"), help="what to print (default md)")
    p.add_argument(
        "--out",
        default=None,
        help="also write a static site into this folder: index.html (open it in a "
        "browser; works offline), a detail page per table, PNG plots, "
        "leaderboard.md and .csv (with --arms: arms.md and the seeds' loss curves by arm, arms_curves.png)",
    )
    p.add_argument("--no-plots", action="store_true", help="with --out, skip the PNG plots")
    p.add_argument("--reference", action="store_true", help="add published rows from the GHN papers (labelled)")
    p.add_argument(
        "--properties",
        action="append",
        default=None,
        metavar="FOLDER",
        help="folder of `bench properties` records, repeatable (default $GHNBENCH_HOME/properties): "
        "their tables follow the accuracy tables (Markdown, HTML, the site; --out also writes "
        "properties.csv)",
    )
    p.add_argument(
        "--as-of",
        default=None,
        type=as_of_time,
        metavar="TIME",
        help="only records created up to TIME (ISO 8601, e.g. 2026-12-07T12:00:00+00:00): a published "
        "table stays as it was while its grid grows",
    )
    p.add_argument(
        "--comparison",
        default="welch",
        choices=("welch", "trimmed"),
        help="the pairwise comparison: welch (means, Games-Howell; default) or trimmed (20%%-trimmed "
        'means, Yuen-Welch, Holm); docs/leaderboard.md, "Heavy-tailed seeds"',
    )
    p.add_argument(
        "--power-table",
        default=None,
        metavar="FILE",
        help="state the resolution from this simulated power table (leaderboard.simulate.power_table, "
        "of the same comparison) instead of the normal formula",
    )
    p.add_argument(
        "--arms",
        action="store_true",
        help="compare training recipes instead: the preset (--preset) and its overridden variants as "
        "arms, per model and pooled, each against the plain preset, by the variance study's rule "
        "(docs/variance-study.md)",
    )
    p.set_defaults(func=run_leaderboard)


def run_arms(args: argparse.Namespace) -> int:
    """Print the arms table of `bench leaderboard --arms`; with --out, also write it as arms.md and
    the seeds' loss curves by arm as arms_curves.png into that folder."""
    from deepnets1m.atomic import atomic_write
    from leaderboard.arms import arm_table
    from leaderboard.db import latest_records, sync

    if args.preset is None:
        raise ValueError("--arms compares a preset's variants: name it with --preset (e.g. --preset rank)")
    done = sync(args.db or db_path(), args.results or [results_root()])
    records = latest_records(args.db or db_path(), done.paths, args.as_of, dataset=args.dataset, preset=args.preset)
    if not records:
        folders = ", ".join(map(str, args.results or [results_root()]))
        raise ValueError(f"--arms: no records of preset {args.preset} in {folders}")
    table = arm_table(records)
    print(table, end="")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "arms.md", "w") as f:
            f.write(table)
        if not args.no_plots:
            from leaderboard.plots import arm_curves

            if arm_curves(records, out / "arms_curves.png") is None:
                print(
                    "--arms --out: no record keeps a loss curve (training.curve); no arms_curves.png", file=sys.stderr
                )
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    """Run `bench leaderboard`."""
    if args.arms:
        return run_arms(args)
    from leaderboard.properties import property_tables, read_records

    folders = [f for f in map(Path, args.properties or [properties_root()]) if f.is_dir()]
    chosen = [
        r for r in read_records(folders) if args.dataset in (None, r["dataset"]) and args.preset in (None, r["preset"])
    ]
    properties = property_tables(chosen)
    with warnings.catch_warnings(record=True) as caught:  # one plain line each, not Python's source-path format
        warnings.simplefilter("always")
        try:
            done = rendered(args, properties)
        except ValueError as err:
            if not (properties and str(err).startswith("no records")):
                raise
            print({"md": properties.markdown, "html": properties.html, "csv": properties.csv}[args.format]())  # alone
            return 0
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"warning: {message}", file=sys.stderr)
    return show(args, done)


def rendered(args: argparse.Namespace, properties):
    """The leaderboard of args' folders (leaderboard.render.render)."""
    from leaderboard.render import render
    from leaderboard.simulate import read_power_table

    power = read_power_table(args.power_table) if args.power_table else None
    return render(
        args.db or db_path(),
        args.results or [results_root()],
        args.out,
        args.dataset,
        args.preset,
        args.method,
        args.metric,
        args.reference,
        with_plots=not args.no_plots,
        properties=properties,
        as_of=args.as_of,
        comparison=args.comparison,
        power=power,
    )


def show(args: argparse.Namespace, done) -> int:
    """Print a rendered leaderboard, what was skipped, and the files written."""
    for skipped in done.sync.skipped:
        print(f"warning: {skipped}", file=sys.stderr)
    if args.reference and not done.imported:
        from leaderboard.reference import reference_cells

        published = ", ".join(sorted(set(reference_cells()["dataset"])))
        print(
            f"warning: --reference added no rows: the papers publish {published} only, and none of these tables "
            f"is on them",
            file=sys.stderr,
        )
    print(done.text[args.format])
    for path in done.files:
        print(f"wrote {path}", file=sys.stderr)
    if done.files:
        print(f"open {done.files[0].resolve().as_uri()}", file=sys.stderr)
    return 0
