"""`bench publish`: README's and docs' published tables regenerate from the shipped records."""

from pathlib import Path

import pytest

from bench.commands.cli import main
from bench.config.schema import write_record

REPO = Path(__file__).resolve().parents[3]


def record(gnn: str, split: str, seed: int, top1: float, created: str) -> dict:
    """A small run record, as `bench run` writes it."""
    rows = [{"index": i, "arch": f"{split}/{i}", "ghn": top1 + i, "random_init": 10.0} for i in range(3)]
    return {
        "schema": "ghnbench-record-1",
        "gnn": gnn,
        "backend": "pyg",
        "split": split,
        "dataset": "digits",
        "preset": "tiny",
        "seed": seed,
        "ghn": "ghn2",
        "view": None,
        "created": created,
        "archs": rows,
        "metrics": {
            "ghn": {"mean": top1 + 1, "stderr": 0.5, "max": top1 + 2, "n": 3},
            "random_init": {"mean": 10.0, "stderr": 0.0, "max": 10.0, "n": 3},
        },
        "core": {"name": gnn, "view": "virtual", "layers": 2, "params": 900, "protocol": "v1"},
    }


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A repository-like folder: shipped records and a doc with a published block in it."""
    for seed in range(3):
        for gnn, top1 in (("gcn", 40.0), ("gat", 45.0)):
            write_record(
                tmp_path / "results" / "grid",
                record(gnn, "val", seed, top1 + seed, f"2026-12-0{seed + 1}T00:00:00+00:00"),
            )
    doc = tmp_path / "docs" / "table.md"
    doc.parent.mkdir()
    doc.write_text(
        "# Table\n\n<!-- bench publish: leaderboard --results results/grid --as-of 2026-12-02T12:00 -->\n"
        "stale\n<!-- end bench publish -->\n\nAfter.\n"
    )
    monkeypatch.chdir(tmp_path)
    return doc


def test_publish_fills_blocks_and_check_names_a_stale_one(site, capsys):
    assert main(["publish", "--check"]) == 1
    assert "docs/table.md: `bench leaderboard --results results/grid" in capsys.readouterr().err
    assert main(["publish"]) == 0
    text = site.read_text()
    assert "| gat/pyg |" in text and "2 seeds" in text and text.endswith("<!-- end bench publish -->\n\nAfter.\n")
    assert main(["publish", "--check"]) == 0  # as the records give
    site.write_text(text.replace("46.5", "47.5"))  # a figure edited by hand
    assert main(["publish", "--check"]) == 1


def test_a_growing_grid_leaves_an_as_of_table_as_it_was(site, capsys):
    assert main(["publish"]) == 0
    write_record(Path("results/grid"), record("gin", "val", 0, 30.0, "2026-12-05T00:00:00+00:00"))  # lands later
    assert main(["publish", "--check"]) == 0
    assert "gin" not in site.read_text()


def test_a_block_runs_only_publishing_commands(site, capsys):
    site.write_text("<!-- bench publish: run --gnn gcn --split val -->\n<!-- end bench publish -->\n")
    assert main(["publish"]) == 2
    assert "only leaderboard may make one" in capsys.readouterr().err


def test_the_repositorys_published_tables_are_what_its_records_give(monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["publish", "--check"]) == 0
