"""`bench leaderboard`: the CLI face of the leaderboard package (imported only when called)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .paths import db_path, properties_root, results_root


def ranked_method(text: str) -> str:
    """A --method value: ghn, sgd, random_init, or ftK (K >= 1)."""
    from .records import parse_method

    if text in ("ghn", "sgd", "random_init") or parse_method(text) is not None:
        return text
    raise argparse.ArgumentTypeError(f"unknown method {text!r}: choose ghn, sgd, random_init or ftK (e.g. ft50, "
                                     f"for records evaluated with --finetune 50)")


def configure(p: argparse.ArgumentParser) -> None:
    """`bench leaderboard`'s options."""
    p.add_argument("--results", action="append", default=None,
                   help="folder of result records, repeatable to merge several (default $GHNBENCH_HOME/results)")
    p.add_argument("--db", default=None, help="SQLite index (default $GHNBENCH_HOME/leaderboard.sqlite)")
    p.add_argument("--dataset", default=None, help="only this data set (default: one table per data set and preset)")
    p.add_argument("--preset", default=None, help="only this preset")
    p.add_argument("--method", default="ghn", type=ranked_method, metavar="{ghn,sgd,random_init,ftK}",
                   help="whose accuracy to rank: predicted params (default), k SGD steps, random init, or ftK: "
                        "after K fine-tuning steps from predicted params (records of `--finetune K`), beside random "
                        "init fine-tuned alike")
    p.add_argument("--metric", default="auto", choices=("auto", "top1", "top5"),
                   help="top-1 or top-5 accuracy; auto (default): top-5 on ImageNet, top-1 elsewhere, as the "
                        "GHN papers report them")
    p.add_argument("--format", default="md", choices=("md", "html", "csv"), help="what to print (default md)")
    p.add_argument("--out", default=None, help="also write a static site into this folder: index.html (open it in a "
                                             "browser; works offline), a detail page per table, PNG plots, "
                                             "leaderboard.md and .csv")
    p.add_argument("--no-plots", action="store_true", help="with --out, skip the PNG plots")
    p.add_argument("--reference", action="store_true", help="add published rows from the GHN papers (labelled)")
    p.add_argument("--properties", action="append", default=None, metavar="FOLDER",
                   help="folder of `bench properties` records, repeatable (default $GHNBENCH_HOME/properties): "
                        "their tables follow the accuracy tables (Markdown, HTML, the site; --out also writes "
                        "properties.csv)")
    p.set_defaults(func=run_leaderboard)


def run_leaderboard(args: argparse.Namespace) -> int:
    """Run `bench leaderboard`."""
    from leaderboard.properties import property_tables, read_records
    from leaderboard.render import render

    folders = [f for f in map(Path, args.properties or [properties_root()]) if f.is_dir()]
    chosen = [r for r in read_records(folders) if args.dataset in (None, r["dataset"]) and args.preset in (None, r["preset"])]
    properties = property_tables(chosen)
    try:
        done = render(args.db or db_path(), args.results or [results_root()], args.out, args.dataset, args.preset,
                      args.method, args.metric, args.reference, with_plots=not args.no_plots, properties=properties)
    except ValueError as err:
        if not (properties and str(err).startswith("no records")):
            raise
        print({"md": properties.markdown, "html": properties.html, "csv": properties.csv}[args.format]())  # alone
        return 0
    for skipped in done.sync.skipped:
        print(f"warning: {skipped}", file=sys.stderr)
    if args.reference and not done.imported:
        from leaderboard.reference import reference_cells

        published = ", ".join(sorted(set(reference_cells()["dataset"])))
        print(f"warning: --reference added no rows: the papers publish {published} only, and none of these tables "
              f"is on them", file=sys.stderr)
    print(done.text[args.format])
    for path in done.files:
        print(f"wrote {path}", file=sys.stderr)
    if done.files:
        print(f"open {done.files[0].resolve().as_uri()}", file=sys.stderr)
    return 0
