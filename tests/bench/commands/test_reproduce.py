"""`bench reproduce`: a record's run retrained and rescored from its fields."""

import json

from bench.commands.cli import main
from bench.config.presets import get_preset
from tests.short_run import short_run

FAST = short_run()
LABEL = get_preset(
    "tiny", steps=2, meta_batch=1, batch_size=16, hidden=16, eval_nets=2, eval_images=40, sgd_steps=1, sgd_nets=1
).label


def shipped_record(home, *extra):
    """A short run's record, as a results folder ships it."""
    assert main(["run", "--gnn", "gcn", "--split", "val", "--seed", "3", *FAST, *extra]) == 0
    return home / "results" / f"gcn_pyg_val_digits_{LABEL}_3.json"


def test_a_record_is_reproduced_exactly_on_the_same_machine(home, capsys):
    path = shipped_record(home)
    capsys.readouterr()
    assert main(["reproduce", str(path), "--out", str(home / "again"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    # the flags rebuilt from the record's fields
    assert "--seed 3 --split val --dataset digits --preset tiny --hidden 16 --batch-size 16 --steps 2" in out
    assert "exact: every net's accuracy is the record's" in out

    def scores(p):  # every accuracy of every net (not the prediction's latency)
        return [{k: v for k, v in row.items() if k != "predict_ms"} for row in json.loads(p.read_text())["archs"]]

    assert scores(home / "again" / path.name) == scores(path)
    assert not list(home.glob("checkpoints/*again*"))  # retrained in a fresh folder, not reusing the run's


def test_a_difference_is_reported_per_net_and_judged_by_the_machine(home, capsys):
    path = shipped_record(home)
    record = json.loads(path.read_text())
    record["archs"][0]["ghn"] += 5.0
    record["metrics"]["ghn"]["mean"] += 2.5
    path.write_text(json.dumps(record))
    assert main(["reproduce", str(path), "--no-progress"]) == 1  # same CPU and libraries: must be exact
    out = capsys.readouterr().out
    assert "NOT REPRODUCED" in out and "  -5.00" in out and "-2.50" in out
    record["hardware"]["cpu"], record["versions"]["torch"] = "Another CPU", "0.0"
    path.write_text(json.dumps(record))
    assert main(["reproduce", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "not exact, as expected" in out and "cpu (Another CPU there" in out and "torch (0.0 there" in out


def test_a_field_no_flag_sets_is_a_clear_error(home, capsys):
    path = shipped_record(home)
    record = json.loads(path.read_text())
    record["preset_fields"]["grad_clip"] = 1.0
    path.write_text(json.dumps(record))
    assert main(["reproduce", str(path)]) == 2
    assert "grad_clip = 1.0 is not preset tiny's (5.0) and no flag sets it" in capsys.readouterr().err


def test_a_record_of_an_older_decoder_is_judged_by_its_version(home, capsys):
    path = shipped_record(home)
    record = json.loads(path.read_text())
    del record["decoder_version"]  # as records made before the decoder had a version
    record["archs"][0]["ghn"] += 5.0
    path.write_text(json.dumps(record))
    assert main(["reproduce", str(path), "--no-progress"]) == 0  # not exact by construction, and said so
    out = capsys.readouterr().out
    assert "not exact, as expected" in out and "decoder_version 1 there, 2 here" in out
