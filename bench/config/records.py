"""Result records: one JSON file per (gnn, backend, split, dataset, preset, seed) run, written atomically."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path


def versions() -> dict[str, str | None]:
    """Versions of Python and of the libraries a result depends on (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("ghnbench", "torch", "torchvision", "torch-geometric", "dgl", "numpy", "scipy"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def git_commit() -> str | None:
    """The commit of the code this runs from, if it runs from a git checkout: the last commit that
    changed anything outside results/ (commits that only add records, as `bench sweep --commit`
    makes them, leave the code as it was)."""
    try:
        return (
            subprocess.run(
                ["git", "log", "-1", "--format=%H", "--", ".", ":(exclude)results"],
                cwd=Path(__file__).resolve().parents[1],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


# the CPU features that change a result's float rounding or speed (vector width, native bf16)
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "asimd", "sve")


def cpu_info() -> dict:
    """The CPU's model name and which of CPU_FLAGS it has (from /proc/cpuinfo on Linux)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            model = value.strip()
        elif key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return {"cpu": model, "cpu_flags": [f for f in CPU_FLAGS if f in flags]}


def hardware(device: str) -> dict:
    """CPU (model and flags), core count and, on CUDA, the GPU name."""
    import torch  # configuration stays torch-free (the leaderboard and `bench --help` import it)

    info = {**cpu_info(), "cores": os.cpu_count(), "device": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def now() -> str:
    """UTC time stamp, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def checkpoint_key(path: str | os.PathLike) -> str:
    """How a record names its checkpoint: the file's stem, what gnn_zoo.load and `bench
    list-checkpoints` take under any machine's checkpoint folder (never a machine's path). A
    missing checkpoint is rebuilt from the record's fields: `bench reproduce RECORD`."""
    return Path(path).stem


def metrics_mean(rows: list[dict], key: str) -> float:
    """Mean of one column of the per-architecture rows."""
    return sum(r[key] for r in rows) / len(rows)


def evaluation_fields(split: str, dataset: str, preset, seed: int, result, device: str) -> dict:
    """What every record of an evaluated split holds, whoever predicted the parameters: its
    split, data set, preset (label and fields) and seed, the metrics and per-net rows of `result`
    (bench.harness.evaluate.EvalResult), the evaluation settings, and its provenance (library versions,
    commit, hardware, time). bench.harness.run_record and bench.harness.evaluator add who predicted."""
    return {
        "split": split,
        "dataset": dataset,
        "preset": preset.label,
        "seed": seed,
        "metrics": result.metrics(),
        "archs": result.rows,
        "eval_noise": preset.eval_noise,
        "sgd_steps": preset.sgd_steps,
        "finetune": result.finetune(),
        "preset_fields": dataclasses.asdict(preset),
        "predict_ms": metrics_mean(result.rows, "predict_ms"),
        "versions": versions(),
        "git_commit": git_commit(),
        "hardware": hardware(device),
        "created": now(),
    }
