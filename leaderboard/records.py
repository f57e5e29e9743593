"""Reading result records (the JSON files `bench` writes), validating each one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.config.schema import MANIFEST, RECORD_KEYS, RecordError, read_record, validate

__all__ = ["RecordError", "read_record", "validate", "run_key", "Skipped", "record_files", "run_records"]


def run_key(record: dict) -> tuple:
    """The fields identifying a run: one record per key is kept (the newest)."""
    return tuple(record[k] for k in RECORD_KEYS)


@dataclass
class Skipped:
    """A record file that was not used, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


def record_files(dirs: list[str | os.PathLike]) -> list[Path]:
    """Every *.json record under `dirs` (recursively; hidden files and folders excluded: temp files
    of atomic writes, the shared baselines in .baselines/; and each folder's manifest)."""
    files: list[Path] = []
    for d in dirs:
        d = Path(d)
        if not d.is_dir():
            raise FileNotFoundError(
                f"results folder {d} does not exist; runs write their records to "
                f"$GHNBENCH_HOME/results unless given --results"
            )
        files += sorted(
            p
            for p in d.rglob("*.json")
            if p.name != MANIFEST and not any(part.startswith(".") for part in p.relative_to(d).parts)
        )
    return files


def run_records(dirs: list[str | os.PathLike]) -> list[dict]:
    """Every valid run record under `dirs` (record_files), the files that are none skipped."""
    records = []
    for path in record_files(dirs):
        try:
            records.append(read_record(path))
        except RecordError:
            continue
    return records
