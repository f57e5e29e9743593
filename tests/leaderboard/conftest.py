"""Synthetic result records, written the way `bench` writes them."""
from __future__ import annotations

import statistics

import pytest

from bench.records import write_record


def make_record(gnn="gcn", split="val", seed=0, mean=50.0, backend="pyg", dataset="digits", preset="tiny",
                base=10.0, created="2026-01-01T00:00:00+00:00", accs=None) -> dict:
    """A complete record with the fields `bench run` writes that the leaderboard reads; with
    `accs`, one per-net row per accuracy (top-1 of the GHN; the baseline at `base`), the mean
    and stderr then theirs."""
    if accs is not None:
        archs = [{"index": i, "arch": f"{split}/{i}", "ghn": float(a), "random_init": base} for i, a in enumerate(accs)]
        n = len(accs)
        mean, stderr = float(sum(accs) / n), float(statistics.stdev(accs) / n ** 0.5) if n > 1 else 0.0
        return {**make_record(gnn, split, seed, mean, backend, dataset, preset, base, created), "archs": archs,
                "metrics": {"ghn": {"mean": mean, "stderr": stderr, "max": float(max(accs)), "n": n},
                            "random_init": {"mean": base, "stderr": 0.0, "max": base, "n": n}}}
    return {"schema": "ghnbench-record-1", "gnn": gnn, "backend": backend, "split": split, "dataset": dataset,
            "preset": preset, "seed": seed, "created": created,
            "metrics": {"ghn": {"mean": mean, "stderr": 1.0, "max": mean + 5, "n": 10},
                        "random_init": {"mean": base, "stderr": 0.5, "max": base + 2, "n": 10}},
            "archs": [], "ghn_params": 1000, "train_seconds": 1.0, "predict_ms": 2.0,
            "core": {"name": gnn, "view": "virtual", "layers": 2, "params": 900, "params_without_embeddings": 900,
                     "protocol": "v1"}}


@pytest.fixture
def write(tmp_path):
    """write(**fields) -> path of a new record under tmp_path/results."""
    def _write(**fields):
        return write_record(tmp_path / "results", make_record(**fields))
    return _write
