import json
import os
import sqlite3

import pytest

from bench.config.schema import write_record
from leaderboard.db import latest_records, sync

from .conftest import make_record


def test_sync_indexes_new_and_changed_files_only(tmp_path, write):
    db = tmp_path / "lb.sqlite"
    write(gnn="gcn")
    write(gnn="gat")
    first = sync(db, [tmp_path / "results"])
    assert (first.added, first.unchanged) == (2, 0)
    again = sync(db, [tmp_path / "results"])
    assert (again.added, again.unchanged) == (0, 2)
    path = write(gnn="gat", mean=77.0)  # the same run re-recorded
    os.utime(path, ns=(1, 1))
    third = sync(db, [tmp_path / "results"])
    assert third.added == 1
    means = {r["gnn"]: r["metrics"]["ghn"]["mean"] for r in latest_records(db)}
    assert means == {"gcn": 50.0, "gat": 77.0}


def test_many_job_folders_merge_without_loss(tmp_path):
    """Records of an array of cluster jobs, each in its own folder, all end up in the index;
    the same run recorded twice keeps the newest."""
    db = tmp_path / "lb.sqlite"
    dirs = [tmp_path / f"job{i}" for i in range(6)]
    for i, d in enumerate(dirs):
        write_record(d, make_record(gnn=["gcn", "gat", "gin"][i % 3], seed=i // 3))
    write_record(dirs[0], make_record(gnn="mlp", seed=0, created="2026-01-01T00:00:00+00:00", mean=1.0))
    write_record(dirs[1], make_record(gnn="mlp", seed=0, created="2026-02-01T00:00:00+00:00", mean=2.0))
    for d in dirs:  # each job indexes its own folder into the shared database
        sync(db, [d])
    records = latest_records(db)
    assert sorted((r["gnn"], r["seed"]) for r in records if r["gnn"] != "mlp") == sorted(
        (g, s) for g in ("gcn", "gat", "gin") for s in (0, 1)
    )
    assert [r["metrics"]["ghn"]["mean"] for r in records if r["gnn"] == "mlp"] == [2.0]


def test_a_record_that_goes_bad_keeps_its_last_good_row(tmp_path, write):
    db = tmp_path / "lb.sqlite"
    path = write(gnn="gcn", mean=33.0)
    sync(db, [tmp_path / "results"])
    path.write_text("{ truncated")
    report = sync(db, [tmp_path / "results"])
    assert len(report.skipped) == 1 and "not valid JSON" in report.skipped[0].reason
    assert [r["metrics"]["ghn"]["mean"] for r in latest_records(db)] == [33.0]


def test_filters_and_corrupt_database(tmp_path, write):
    db = tmp_path / "lb.sqlite"
    write(dataset="digits")
    write(dataset="cifar10")
    sync(db, [tmp_path / "results"])
    assert [r["dataset"] for r in latest_records(db, dataset="cifar10")] == ["cifar10"]
    with pytest.raises(ValueError, match="cannot filter"):
        latest_records(db, colour="red")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(ValueError, match="rebuilds it from the record files"):
        sync(bad, [tmp_path / "results"])
    assert json.loads(sqlite3.connect(db).execute("SELECT record FROM records LIMIT 1").fetchone()[0])["schema"]


def test_a_preset_filter_matches_its_overridden_variants(tmp_path, write):
    for preset in ("tiny", "tiny-3fa2c1d0", "tinyx", "small"):
        write(preset=preset)
    db = tmp_path / "index.sqlite"
    sync(db, [tmp_path / "results"])
    assert sorted(r["preset"] for r in latest_records(db, preset="tiny")) == ["tiny", "tiny-3fa2c1d0"]


def test_an_index_of_an_older_layout_is_rebuilt(tmp_path, write):
    """The index is a cache: one made before the `ghn` column existed is dropped and refilled."""
    db = tmp_path / "lb.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE records (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, gnn TEXT, "
        "backend TEXT, split TEXT, dataset TEXT, preset TEXT, seed INTEGER, created TEXT, record TEXT);"
    )
    conn.close()
    write(gnn="gcn")
    assert sync(db, [tmp_path / "results"]).added == 1
    assert [r["ghn"] for r in latest_records(db, ghn="ghn2")] == ["ghn2"]  # a record without the field is ghn2


def test_tables_show_only_the_folders_asked_for_and_files_that_exist(tmp_path):
    """The index is a cache: after indexing folder a, a call on folder b shows b alone, and a
    deleted record file leaves the table."""
    from leaderboard.render import render

    db = tmp_path / "lb.sqlite"
    write_record(tmp_path / "a", make_record(gnn="gat"))
    kept = write_record(tmp_path / "b", make_record(gnn="gcn"))
    gone = write_record(tmp_path / "b", make_record(gnn="gin"))
    assert "| gat/pyg |" in render(db, [tmp_path / "a"], None, with_plots=False).text["md"]
    md = render(db, [tmp_path / "b"], None, with_plots=False).text["md"]
    assert "| gat/pyg |" not in md and "| gcn/pyg |" in md and "| gin/pyg |" in md
    gone.unlink()
    done = render(db, [tmp_path / "b"], None, with_plots=False)
    assert done.sync.removed == 1
    assert "| gin/pyg |" not in done.text["md"] and "| gcn/pyg |" in done.text["md"] and kept.exists()
    both = render(db, [tmp_path / "a", tmp_path / "b"], None, with_plots=False).text["md"]
    assert "| gat/pyg |" in both and "| gcn/pyg |" in both
