"""A results folder's manifest and its git commits: which command, commit, CPU and date made each
group of records, and records committed as they land.

`<results>/manifest.json` holds one entry per sweep (or run) that wrote into the folder: the
command line, the ghnbench commit it ran, the CPU, torch's version, when it started, and the
record files it has written so far (updated as each job lands, atomically). A sweep started
with `--commit` also commits each finished job's records (and the manifest) into the git
repository holding the folder, so a long grid is never more than one job away from durable.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

from bench.config.records import cpu_info, git_commit, now, versions
from bench.config.schema import MANIFEST
from deepnets1m.atomic import atomic_write


def read_manifest(folder: str | os.PathLike) -> list[dict]:
    """The entries of `folder`'s manifest (none when it has none)."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["groups"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"{path} is no ghnbench manifest ({err}); restore it from git (`git checkout -- {path}`)"
        ) from err
    return entries


def write_manifest(folder: str | os.PathLike, entries: list[dict]) -> None:
    """Write `folder`'s manifest atomically."""
    with atomic_write(Path(folder) / MANIFEST, "w") as f:
        json.dump({"schema": "ghnbench-manifest-1", "groups": entries}, f, indent=1)
        f.write("\n")


def start_group(folder: str | os.PathLike, argv: list[str]) -> int:
    """Add an entry for the command `bench argv` now writing into `folder`; its index."""

    entries = read_manifest(folder)
    cpu = cpu_info()
    entries.append(
        {
            "command": "bench " + shlex.join(argv),
            "commit": git_commit(),
            "cpu": cpu["cpu"],
            "cpu_flags": cpu["cpu_flags"],
            "cores": os.cpu_count(),
            "torch": versions()["torch"],
            "started": now(),
            "records": [],
        }
    )
    write_manifest(folder, entries)
    return len(entries) - 1


def add_records(folder: str | os.PathLike, group: int, names: list[str]) -> None:
    """Add record file names to entry `group` of `folder`'s manifest."""
    entries = read_manifest(folder)
    entries[group]["records"] = sorted(set(entries[group]["records"]) | set(names))
    write_manifest(folder, entries)


def git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`git args` run in `folder` (its output captured)."""
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=120)


def check_repository(folder: str | os.PathLike) -> Path:
    """The top of the git work tree holding `folder` (created if needed), else a clear error."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        found = git(folder, "rev-parse", "--show-toplevel")
    except OSError as err:
        raise ValueError(f"--commit needs git, which is not runnable here ({err})") from err
    if found.returncode:
        raise ValueError(
            f"--commit: {folder} is not inside a git work tree; point --results into a clone "
            f"(e.g. the repository's results/ folder) or leave --commit out"
        )
    return Path(found.stdout.strip())


def commit_folder(folders: str | os.PathLike | list, message: str) -> bool:
    """Commit everything new or changed under `folders` (one, or several of one repository; nothing
    else) in one commit with `message`; whether there was anything to commit. A failed commit
    raises, naming git's error."""
    paths = [Path(f).resolve() for f in (folders if isinstance(folders, list) else [folders])]
    where, names = paths[0], [str(p) for p in paths]
    git(where, "add", "-A", "--", *names)
    if not git(where, "diff", "--cached", "--quiet", "--", *names).returncode:
        return False
    done = git(where, "commit", "-q", "-m", message, "--", *names)
    if done.returncode:
        raise RuntimeError(f"git commit in {where} failed: {(done.stderr or done.stdout).strip()}")
    return True
