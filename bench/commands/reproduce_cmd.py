"""`bench reproduce RECORD`: retrain and rescore one record's run from its fields, and report how
far the reproduction lands from it, per net and in the mean.

The record's identity (core, backend, GHN variant, view, data set, seed, split) and its preset
fields become a `bench run` command line; the run trains in a fresh checkpoint folder (or
reuses --checkpoints) and writes its record into --out. Same CPU kind and library versions:
the reproduction must be exact (exit status 1 when it is not). Elsewhere float rounding moves
training, and the difference is compared with the seed noise instead.
"""

from __future__ import annotations

import argparse
import shlex
import tempfile
from pathlib import Path

from bench.commands.options import PRESET_FLAGS, add_threads

COMPARED_VERSIONS = ("torch", "torchvision", "torch-geometric", "dgl", "numpy")  # what moves float results


def configure(p: argparse.ArgumentParser) -> None:
    """`bench reproduce`'s options."""
    p.add_argument("record", help="a run's record file (e.g. one of the repository's results/)")
    p.add_argument(
        "--gnn",
        default=None,
        metavar="FILE.py:CLASS",
        help="where a plugin core's class is (records name a plugin core only by its name)",
    )
    p.add_argument("--data-dir", default=None, help="folder holding the record's data set (not needed for digits)")
    p.add_argument(
        "--checkpoints",
        default=None,
        help="checkpoint folder to train into or reuse (default: a fresh temporary one: retrain)",
    )
    p.add_argument("--out", default=None, help="folder for the reproduced record (default: a temporary one)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    add_threads(p)
    p.set_defaults(func=run_reproduce)


def flag_value(value) -> str:
    """A preset field's value as its --flag takes it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def normal(value):
    """A record's JSON value as the preset holds it (lists are tuples)."""
    return tuple(value) if isinstance(value, list) else value


def run_argv(record: dict, gnn: str, checkpoints: Path, out: Path) -> list[str]:
    """The `bench run` arguments that retrain and rescore `record`'s run; a ValueError when a
    preset field of the record is one no flag sets and the named preset now has otherwise."""
    from bench.config.presets import PRESETS, RUNTIME_FIELDS, base_fields

    label = record["preset"]
    name = label if label in PRESETS else label.rsplit("-", 1)[0]
    if name not in PRESETS:
        raise ValueError(f"the record's preset {label!r} is not one of this ghnbench's ({', '.join(PRESETS)})")
    base, fields = base_fields(name, record["ghn"]), record.get("preset_fields") or {}
    if base is None:
        raise ValueError(f"the record's GHN variant {record['ghn']!r} is not one of this ghnbench's")
    flags = dict(PRESET_FLAGS)
    argv = [
        "run",
        "--gnn",
        gnn,
        "--backend",
        record["backend"],
        "--ghn",
        record["ghn"],
        "--seed",
        str(record["seed"]),
        "--split",
        record["split"],
        "--dataset",
        record["dataset"],
        "--preset",
        name,
        *(["--view", record["view"]] if record.get("view") else []),
    ]
    for field, value in fields.items():
        if field in ("name", "ghn", "view", *RUNTIME_FIELDS) or normal(value) == base.get(field, value):
            continue
        if field not in flags or value is None:
            raise ValueError(
                f"the record's {field} = {value!r} is not preset {name}'s ({base.get(field)!r}) and no "
                f"flag sets it: it was made by other code (commit {record.get('git_commit')}); check "
                f"that commit out to reproduce it"
            )
        argv += [f"--{field.replace('_', '-')}", flag_value(value)]
    return argv + ["--checkpoints", str(checkpoints), "--results", str(out)]


def environment_differences(record: dict) -> list[str]:
    """What of the CPU kind and library versions differs between the record's machine and this one."""
    from bench.config.records import cpu_info, versions

    here, theirs = {**cpu_info(), **versions()}, {**(record.get("hardware") or {}), **(record.get("versions") or {})}
    return [
        f"{key} ({theirs.get(key)} there, {here.get(key)} here)"
        for key in ("cpu", "cpu_flags", *COMPARED_VERSIONS)
        if theirs.get(key) != here.get(key)
    ]


def version_differences(shipped: dict, fresh: dict) -> list[str]:
    """Which versions of what the code computes (the nets' generator, the random streams, the
    decoder) differ between the record and its reproduction: each changes the results."""
    return [
        f"{key} {shipped.get(key, 1)} there, {fresh.get(key, 1)} here"
        for key in ("deepnets1m_generator", "random_stream", "decoder_version")
        if shipped.get(key, 1) != fresh.get(key, 1)
    ]


def compare_rows(shipped: dict, fresh: dict) -> list[tuple[str, float, float]]:
    """(net, shipped top-1, reproduced top-1) of the GHN's predicted parameters, net by net."""
    again = {row["arch"]: row["ghn"] for row in fresh["archs"]}
    return [(row["arch"], row["ghn"], again.get(row["arch"], float("nan"))) for row in shipped["archs"]]


def report(shipped: dict, fresh: dict) -> tuple[str, bool]:
    """The per-net and mean comparison as text, and whether the reproduction is exact."""
    rows = compare_rows(shipped, fresh)
    lines = [f"  {'net':24} {'shipped':>8} {'again':>8} {'diff':>7}"]
    lines += [f"  {net:24} {a:8.2f} {b:8.2f} {b - a:+7.2f}" for net, a, b in rows]
    a, b = shipped["metrics"]["ghn"]["mean"], fresh["metrics"]["ghn"]["mean"]
    exact = all(x == y for _, x, y in rows) and a == b
    biggest = max(abs(y - x) for _, x, y in rows)
    lines.append(f"  {'mean':24} {a:8.2f} {b:8.2f} {b - a:+7.2f}   (largest per-net difference {biggest:.2f})")
    return "\n".join(lines), exact


def run_reproduce(args: argparse.Namespace) -> int:
    """Run `bench reproduce`."""
    from bench.commands.cli import main
    from bench.config.schema import PREDICTOR, read_record, record_name
    from gnn_zoo import available
    from gnn_zoo.plugins import load_entry_points

    shipped = read_record(args.record)
    if shipped["ghn"] == PREDICTOR:
        raise ValueError(
            f"{args.record} scores a predictor outside the zoo ({shipped['gnn']}): bench.Evaluator's "
            f"caller made it, and only that code can reproduce it"
        )
    load_entry_points()
    gnn = args.gnn or shipped["gnn"]
    if args.gnn is None and gnn not in available():
        raise ValueError(f"{args.record} was made with the plugin core {gnn!r}: pass --gnn FILE.py:CLASS (its class)")
    temp = tempfile.TemporaryDirectory(prefix="ghnbench-reproduce-")
    with temp:
        checkpoints = Path(args.checkpoints or Path(temp.name) / "checkpoints")
        out = Path(args.out or Path(temp.name) / "results")
        argv = run_argv(shipped, gnn, checkpoints, out)
        if args.data_dir:
            argv += ["--data-dir", args.data_dir]
        if args.threads:
            argv += ["--threads", str(args.threads)]
        if args.no_progress:
            argv.append("--no-progress")
        print(f"reproducing {args.record}: bench {shlex.join(argv)}", flush=True)
        code = main(argv)
        if code:
            return code
        fresh = read_record(out / record_name(shipped))
        text, exact = report(shipped, fresh)
    print(f"GHN top-1 (%) on {shipped['split']}, shipped record against the reproduction:\n{text}")
    differs = version_differences(shipped, fresh) + environment_differences(shipped)
    if shipped.get("git_commit") != fresh.get("git_commit"):
        print(f"code: the record was made at commit {shipped.get('git_commit')}, this is {fresh.get('git_commit')}")
    if exact:
        print("exact: every net's accuracy is the record's")
        return 0
    if differs:
        print(
            "not exact, as expected: this code or machine differs from the record's in "
            + "; ".join(differs)
            + ". A version changes what is computed (check the record's commit out to rerun it as it was); "
            "float rounding moves training: judge the mean's difference against the seed noise "
            "(the leaderboard's seed SD of the model)"
        )
        return 0
    print(
        "NOT REPRODUCED: same CPU kind and library versions as the record's, yet the accuracies differ; "
        "if the code changed since the record's commit, check that commit out and rerun"
    )
    return 1
