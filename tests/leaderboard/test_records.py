import json

import pytest

from leaderboard.db import latest_records, sync
from leaderboard.records import RecordError, read_record, record_files


def test_valid_record_reads_back(write):
    path = write(gnn="gat", mean=42.0)
    assert read_record(path)["metrics"]["ghn"]["mean"] == 42.0


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"schema": "ghnbench-record-1", "gnn": "gcn"', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema": "other"}', "schema"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, text, reason):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(RecordError, match=reason):
        read_record(path)


def test_missing_metric_and_nan_are_rejected(write):
    path = write()
    record = json.loads(path.read_text())
    del record["metrics"]["ghn"]["stderr"]
    path.write_text(json.dumps(record))
    with pytest.raises(RecordError, match="metrics.ghn"):
        read_record(path)
    record["metrics"]["ghn"].update(stderr=1.0, mean=float("nan"))
    path.write_text(json.dumps(record))
    with pytest.raises(RecordError, match="not finite"):
        read_record(path)


def test_load_skips_corrupt_files_and_keeps_the_rest(tmp_path, write):
    write(gnn="gcn")
    write(gnn="gat")
    (tmp_path / "results" / "truncated.json").write_text('{"schema": "ghnbench-record-1", "gn')
    (tmp_path / "results" / ".x.json.123.tmp").write_text("partial")  # an atomic write in flight
    report = sync(tmp_path / "index.sqlite", [tmp_path / "results"])
    assert sorted(r["gnn"] for r in latest_records(tmp_path / "index.sqlite")) == ["gat", "gcn"]
    assert [s.path.name for s in report.skipped] == ["truncated.json"]
    assert "not valid JSON" in str(report.skipped[0])


def test_missing_results_folder_says_where_records_go(tmp_path):
    with pytest.raises(FileNotFoundError, match="GHNBENCH_HOME/results"):
        record_files([tmp_path / "nope"])


def test_a_binary_file_is_skipped_with_its_name_and_the_rest_render(tmp_path, write):
    """Bytes that are not UTF-8 end no leaderboard: the file is named and skipped."""
    from leaderboard.render import render

    write(gnn="gat")
    (tmp_path / "results" / "blob.json").write_bytes(bytes(range(128, 256)))
    done = render(tmp_path / "db.sqlite", [tmp_path / "results"], None, with_plots=False)
    assert [s.path.name for s in done.sync.skipped] == ["blob.json"]
    assert "not UTF-8" in str(done.sync.skipped[0]) and "| gat/pyg |" in done.text["md"]


@pytest.mark.parametrize(
    "field, value", [("split", "ood-huge"), ("dataset", "mnist"), ("backend", "jax"), ("ghn", "ghn7")]
)
def test_a_record_naming_an_unknown_split_backend_or_dataset_is_skipped(write, field, value):
    path = write()
    record = json.loads(path.read_text())
    record[field] = value
    path.write_text(json.dumps(record))
    with pytest.raises(RecordError, match=f"{field} '{value}' is unknown"):
        read_record(path)


def test_any_well_formed_core_name_is_accepted(write):
    """Plugin cores are registered in the process that ran them, not in the leaderboard's: any
    core name a record gives is a row, as long as it is a name."""
    path = write()
    record = json.loads(path.read_text())
    record["gnn"] = "mycore"
    path.write_text(json.dumps(record))
    assert read_record(path)["gnn"] == "mycore"
    record["gnn"] = "../../etc"
    path.write_text(json.dumps(record))
    with pytest.raises(RecordError, match="is no name"):
        read_record(path)


def test_a_record_with_a_non_finite_net_accuracy_is_refused(tmp_path):
    import json
    import math

    from bench.config.schema import RecordError, read_record

    from .conftest import make_record

    record = make_record(accs=[40.0, 50.0])
    record["archs"][1]["ghn"] = math.nan
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record))
    with pytest.raises(RecordError, match="non-finite or non-numeric accuracies for nets val/1"):
        read_record(path)
