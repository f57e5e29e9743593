"""Synthetic result records, written the way `bench` writes them."""

from __future__ import annotations

import statistics

import pytest

from bench.config.schema import write_record


def make_record(
    gnn="gcn",
    split="val",
    seed=0,
    mean=50.0,
    backend="pyg",
    dataset="digits",
    preset="tiny",
    base=10.0,
    created="2026-01-01T00:00:00+00:00",
    accs=None,
) -> dict:
    """A complete record with the fields `bench run` writes that the leaderboard reads; with
    `accs`, one per-net row per accuracy (top-1 of the GHN; the baseline at `base`), the mean
    and stderr then theirs."""
    if accs is not None:
        archs = [{"index": i, "arch": f"{split}/{i}", "ghn": float(a), "random_init": base} for i, a in enumerate(accs)]
        n = len(accs)
        mean, stderr = float(sum(accs) / n), float(statistics.stdev(accs) / n**0.5) if n > 1 else 0.0
        return {
            **make_record(gnn, split, seed, mean, backend, dataset, preset, base, created),
            "archs": archs,
            "metrics": {
                "ghn": {"mean": mean, "stderr": stderr, "max": float(max(accs)), "n": n},
                "random_init": {"mean": base, "stderr": 0.0, "max": base, "n": n},
            },
        }
    return {
        "schema": "ghnbench-record-1",
        "gnn": gnn,
        "backend": backend,
        "split": split,
        "dataset": dataset,
        "preset": preset,
        "seed": seed,
        "created": created,
        "metrics": {
            "ghn": {"mean": mean, "stderr": 1.0, "max": mean + 5, "n": 10},
            "random_init": {"mean": base, "stderr": 0.5, "max": base + 2, "n": 10},
        },
        "archs": [],
        "ghn_params": 1000,
        "train_seconds": 1.0,
        "predict_ms": 2.0,
        "core": {
            "name": gnn,
            "view": "virtual",
            "layers": 2,
            "params": 900,
            "params_without_embeddings": 900,
            "protocol": "v1",
        },
    }


def board_records(effects: dict[str, float], splits=("val", "ood-deep"), seeds: int = 5, nets: int = 8) -> list[dict]:
    """Records of a small leaderboard: each model's per-net accuracy is 40 + its effect + its
    seed's shift + the net's own difficulty + a little noise (seeded), with the baseline columns a record carries
    (random init everywhere, SGD on the first two nets), parameter counts and prediction times."""
    import numpy as np

    rng = np.random.default_rng(0)
    records = []
    for split in splits:
        difficulty = rng.normal(0, 4, nets)
        for seed in range(seeds):
            for gnn, effect in effects.items():
                accs = 40 + effect + rng.normal(0, 1.5) + difficulty + rng.normal(0, 0.5, nets)  # seed shift
                record = make_record(gnn, split, seed, accs=list(accs), base=10.0)
                for i, row in enumerate(record["archs"]):
                    row.update(
                        params=10_000 * (i + 1),
                        predict_ms=1.5 + i,
                        random_init=9.0 + i % 3,
                        **({"sgd": 30.0 + i} if i < 2 else {}),
                    )
                record.update(
                    versions={"ghnbench": "0.1.0", "torch": "2.14.1"},
                    git_commit="0123456789abcdef",
                    hardware={"cpu": "Test CPU", "cores": 2, "device": "cpu"},
                    preset_fields={"steps": 1000, "eval_images": 360},
                    sgd_steps=10,
                    created=f"2026-01-0{seed + 1}T00:00:00+00:00",
                )
                records.append(record)
    return records


@pytest.fixture
def board(tmp_path):
    """The results folder of board_records({gat: +5, gcn: +5, gin: -6}), written as `bench` writes them."""
    for record in board_records({"gat": 5.0, "gcn": 5.0, "gin": -6.0}):
        write_record(tmp_path / "results", record)
    return tmp_path / "results"


@pytest.fixture
def write(tmp_path):
    """write(**fields) -> path of a new record under tmp_path/results."""

    def _write(**fields):
        return write_record(tmp_path / "results", make_record(**fields))

    return _write
