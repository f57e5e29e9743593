"""The SQLite index of result records: one row per record file, kept in sync with the files."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from bench.config.schema import RECORD_KEYS

from .records import RecordError, Skipped, read_record, record_files, run_key

COLUMNS = RECORD_KEYS  # the indexed columns a query can filter on
INDEX_VERSION = 3  # SQLite user_version of this layout; an index of another version is rebuilt from the files
SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS records (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    gnn TEXT NOT NULL, backend TEXT NOT NULL, split TEXT NOT NULL, dataset TEXT NOT NULL,
    preset TEXT NOT NULL, seed INTEGER NOT NULL, ghn TEXT NOT NULL, view TEXT,
    created TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_run ON records (gnn, backend, split, dataset, preset, seed, ghn, view);
"""


@dataclass
class SyncReport:
    """What one sync did: records added or refreshed, unchanged, and files skipped as unusable."""

    added: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)  # the record files under the folders now (index keys)


def connect(db_path: str | os.PathLike) -> sqlite3.Connection:
    """Open (creating if needed) the index; waits for other writers instead of failing."""
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(db_path, timeout=60)
        if conn.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:  # an older layout: only a cache
            conn.executescript(f"DROP TABLE IF EXISTS records; PRAGMA user_version = {INDEX_VERSION};")
        conn.executescript(SCHEMA_SQL)
    except sqlite3.DatabaseError as err:
        raise ValueError(
            f"{db_path} is not a usable leaderboard database ({err}); delete it (it is only an index: "
            f"`bench leaderboard` rebuilds it from the record files) or pass another --db"
        ) from err
    return conn


def sync(db_path: str | os.PathLike, results_dirs: list[str | os.PathLike]) -> SyncReport:
    """Index every record file under `results_dirs` that is new or changed since the last sync,
    and drop the rows of files under them that no longer exist.

    Rows are keyed by file path, so records from many jobs or folders merge without
    overwriting each other; a file that became unreadable keeps its last good row. The report's
    `paths` are the files found: tables show only those (latest_records' `paths`)."""
    report = SyncReport()
    conn = connect(db_path)
    try:
        known = {p: (m, s) for p, m, s in conn.execute("SELECT path, mtime_ns, size FROM records")}
        with conn:
            files = record_files(results_dirs)
            report.paths = {str(path.resolve()) for path in files}
            roots = [str(Path(d).resolve()) + os.sep for d in results_dirs]
            gone = [p for p in known if p not in report.paths and any(p.startswith(r) for r in roots)]
            conn.executemany("DELETE FROM records WHERE path = ?", [(p,) for p in gone])
            report.removed = len(gone)
            for path in files:
                stat = path.stat()
                key = str(path.resolve())
                if known.get(key) == (stat.st_mtime_ns, stat.st_size):
                    report.unchanged += 1
                    continue
                try:
                    record = read_record(path)
                except RecordError as err:
                    report.skipped.append(Skipped(path, str(err)))
                    continue
                conn.execute(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, stat.st_mtime_ns, stat.st_size, *run_key(record), record.get("created"), json.dumps(record)),
                )
                report.added += 1
    finally:
        conn.close()
    return report


def latest_records(
    db_path: str | os.PathLike, paths: set[str] | None = None, as_of: str | None = None, **where: str | None
) -> list[dict]:
    """The records of latest_record_files, without their paths."""
    return [record for _, record in latest_record_files(db_path, paths, as_of, **where)]


def latest_record_files(
    db_path: str | os.PathLike, paths: set[str] | None = None, as_of: str | None = None, **where: str | None
) -> list[tuple[str, dict]]:
    """(file path, record) of the indexed records matching the non-None `where` columns, one per
    run (the newest when the same run was recorded in several files), from the files in `paths`
    only when given (the folders of this call: the index also holds other folders' rows). A
    preset name also matches its overridden variants (`tiny` matches `tiny-3fa2c1d0`), which
    still form tables of their own. With `as_of` (an ISO 8601 UTC time), only records created
    up to then: a published table stays what it was while its grid grows."""
    conn = connect(db_path)
    try:
        clauses = [(k, v) for k, v in where.items() if v is not None]
        unknown = [k for k, _ in clauses if k not in COLUMNS]
        if unknown:
            raise ValueError(f"cannot filter on {unknown}; columns: {COLUMNS}")
        tests = [f"({k} = ? OR {k} LIKE ? || '-%')" if k == "preset" else f"{k} = ?" for k, _ in clauses]
        values = [x for k, v in clauses for x in ((v, v) if k == "preset" else (v,))]
        if as_of is not None:
            tests.append("created <= ?")
            values.append(as_of)
        sql = (
            "SELECT path, record FROM records"
            + (" WHERE " + " AND ".join(tests) if tests else "")
            + " ORDER BY created"
        )
        newest: dict[tuple, tuple[str, dict]] = {}
        for path, text in conn.execute(sql, values):
            if paths is not None and path not in paths:
                continue
            record = json.loads(text)
            newest[run_key(record)] = (path, record)
    finally:
        conn.close()
    return list(newest.values())
