"""`bench publish`: regenerate the published tables of README.md and docs/ from the records the
repository ships, or check that they are what the records give.

A published table sits between two comment lines that say how it is made:

    <!-- bench publish: leaderboard --results results/variance-study --preset rank --arms -->
    ...the command's Markdown output...
    <!-- end bench publish -->

The text between them is the output of that `bench` command (run in the current folder, the
repository's root, its SQLite index in a temporary folder). `bench publish` rewrites every such block; `bench
publish --check` changes nothing and exits 1 naming each block whose text is not what its
records give (a figure that changes in the records must change in the docs too).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

from deepnets1m.atomic import atomic_write

BLOCK = re.compile(r"(<!-- bench publish: (?P<command>.+?) -->\n)(?P<body>.*?)(<!-- end bench publish -->)", re.S)
PUBLISHING = ("leaderboard",)  # the commands a block may run: they only read records
DEFAULT_FILES = ("README.md", "docs/*.md")


def configure(p: argparse.ArgumentParser) -> None:
    """`bench publish`'s options."""
    p.add_argument(
        "files",
        nargs="*",
        help=f"Markdown files (default: {', '.join(DEFAULT_FILES)} under the current folder, the repository's root)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 naming each block whose text differs from what its records give",
    )
    p.set_defaults(func=run_publish)


@contextlib.contextmanager
def hermetic_home(folder: str):
    """GHNBENCH_HOME pointed at an empty `folder` inside the block: a published table reads only
    the folders its command names, never this machine's own results or properties."""
    before = os.environ.get("GHNBENCH_HOME")
    os.environ["GHNBENCH_HOME"] = folder
    try:
        yield
    finally:
        if before is None:
            del os.environ["GHNBENCH_HOME"]
        else:
            os.environ["GHNBENCH_HOME"] = before


def block_output(command: str) -> str:
    """The Markdown a block's `bench` command prints (run in the current folder), ending in one newline."""
    from bench.commands.cli import main

    argv = shlex.split(command)
    if not argv or argv[0] not in PUBLISHING:
        raise ValueError(f"a published block runs `bench {command}`; only {', '.join(PUBLISHING)} may make one")
    with tempfile.TemporaryDirectory() as tmp, hermetic_home(tmp):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--db", str(Path(tmp) / "index.sqlite")])
    if code:
        raise ValueError(f"`bench {command}` failed ({err.getvalue().strip().splitlines()[-1:]})")
    return out.getvalue().rstrip() + "\n"


def published_files(files: list[str]) -> list[Path]:
    """The Markdown files to publish into."""
    if files:
        return [Path(f) for f in files]
    return [p for pattern in DEFAULT_FILES for p in sorted(Path().glob(pattern))]


def regenerate(path: Path) -> tuple[str, list[str]]:
    """`path`'s text with every block regenerated, and the commands of the blocks that changed."""
    text, changed = path.read_text(encoding="utf-8"), []

    def fill(match: re.Match) -> str:
        body = block_output(match["command"])
        if body != match["body"]:
            changed.append(match["command"])
        return f"{match[1]}{body}{match[4]}"

    return BLOCK.sub(fill, text), changed


def run_publish(args: argparse.Namespace) -> int:
    """Run `bench publish`."""
    files, stale, blocks = published_files(args.files), [], 0
    for path in files:
        if not path.exists():
            raise ValueError(f"{path}: no such file")
        blocks += len(BLOCK.findall(path.read_text(encoding="utf-8")))
        text, changed = regenerate(path)
        stale += [f"{path}: `bench {command}`" for command in changed]
        if changed and not args.check:
            with atomic_write(path, "w") as f:
                f.write(text)
    if args.check and stale:
        print(
            "these published tables differ from what their records give (run `bench publish` and commit):\n  "
            + "\n  ".join(stale),
            file=sys.stderr,
        )
        return 1
    print(
        f"{blocks} published block(s) in {len(files)} file(s); "
        + (f"{len(stale)} regenerated" if stale else "all as their records give")
    )
    return 0
