"""Result records: one JSON file per (gnn, backend, split, dataset, preset, seed) run, written atomically."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import math
import os
import platform
import re
import statistics
import subprocess
from pathlib import Path

from deepnets1m.atomic import atomic_write

SCHEMA = "ghnbench-record-1"
RECORD_KEYS = ("gnn", "backend", "split", "dataset", "preset", "seed", "ghn", "view")
DEFAULT_GHN = "ghn2"  # the variant of records written before variants existed


def record_name(record: dict) -> str:
    """File name of a record: its identifying fields joined (the GHN variant first unless it is
    ghn2, the graph view last when it is not the core's default, so default runs keep the names
    they had before variants and views)."""
    ghn, view = record.get("ghn", DEFAULT_GHN), record.get("view")
    return (
        ("" if ghn == DEFAULT_GHN else f"{ghn}_")
        + "_".join(str(record[k]) for k in RECORD_KEYS[:-2])
        + (f"_{view}" if view else "")
        + ".json"
    )


def write_record(results_dir: str | os.PathLike, record: dict) -> Path:
    """Write `record` atomically into `results_dir` (replacing the same run's earlier record)."""
    path = Path(results_dir) / record_name(record)
    with atomic_write(path, "w") as f:
        json.dump(record, f, indent=1)
    return path


VARIANT_LABELS = {"ghn1": "GHN-1", "mlp": "paper's MLP"}  # how tables name the paper's ablation rows


PREDICTOR = "predictor"  # the `ghn` of records that bench.Evaluator wrote for a predictor outside the zoo


def model_label(record: dict) -> str:
    """A run's model as tables and messages show it: gnn/backend, the GHN variant unless it is
    ghn2, the graph view unless it is the core's default; a predictor's own name."""
    ghn, view = record.get("ghn", DEFAULT_GHN), record.get("view")
    if ghn == PREDICTOR:
        return f"{record['gnn']} (predictor)"
    return (
        f"{record['gnn']}/{record['backend']}"
        + ("" if ghn == DEFAULT_GHN else f" ({VARIANT_LABELS.get(ghn, ghn)})")
        + (f" [{view}]" if view else "")
    )


def table_preset(record: dict) -> str:
    """The preset a record's table is named by: its preset, `@<protocol>` appended unless it
    follows the current protocol (records of other protocols, or of none, never share a table)."""
    from .protocol import NO_PROTOCOL, PROTOCOL

    protocol = (record.get("core") or {}).get("protocol", NO_PROTOCOL)
    return record["preset"] if protocol == PROTOCOL else f"{record['preset']}@{protocol}"


FIELD_TYPES = {
    "gnn": str,
    "backend": str,
    "split": str,
    "dataset": str,
    "preset": str,
    "seed": int,
    "ghn": str,
    "metrics": dict,
}


class RecordError(ValueError):
    """A record file that cannot be used (unreadable, not JSON, missing or malformed fields)."""


def validate(record: object) -> dict:
    """`record` itself if it is a complete ghnbench record (given its default GHN variant if it
    predates variants), else RecordError naming what is wrong."""
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    record.setdefault("ghn", DEFAULT_GHN)
    record.setdefault("view", None)  # the core's default view
    if record.get("schema") != SCHEMA:
        raise RecordError(f"schema is {record.get('schema')!r}, expected {SCHEMA!r}")
    for name, kind in FIELD_TYPES.items():
        if not isinstance(record.get(name), kind) or isinstance(record.get(name), bool):
            raise RecordError(f"field {name!r} is missing or not a {kind.__name__}")
    named = ("gnn", "backend") if record["ghn"] == PREDICTOR else ("gnn",)  # plugin cores, predictors: any name
    for name in named:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}", record[name]):
            raise RecordError(f"{name} {record[name]!r} is no name (letters, digits, _.+- only)")
    for name, known in known_values().items():
        if name in named:
            continue
        if record[name] not in known:
            raise RecordError(f"{name} {record[name]!r} is unknown (known: {', '.join(map(str, known))})")
    ghn = record["metrics"].get("ghn")
    if not isinstance(ghn, dict) or not all(isinstance(ghn.get(k), (int, float)) for k in ("mean", "stderr", "n")):
        raise RecordError("metrics.ghn lacks numeric mean/stderr/n")
    if not math.isfinite(ghn["mean"]):
        raise RecordError("metrics.ghn.mean is not finite")
    bad = [
        row.get("arch")
        for row in record.get("archs") or []
        if isinstance(row, dict)
        and not all(
            isinstance(v, (int, float)) and math.isfinite(v)
            for k, v in row.items()
            if k in ("ghn", "random_init", "sgd") and v is not None
        )
    ]
    if bad:
        raise RecordError(f"non-finite or non-numeric accuracies for nets {', '.join(map(str, bad[:5]))}")
    return record


def known_values() -> dict[str, tuple]:
    """The values a record's identifying fields may take: a record naming another split,
    backend, data set or GHN variant would make a bogus row or column, so it is refused. A core
    is any well-formed name (validate): plugin cores registered in other processes, a
    predictor's name."""
    from deepnets1m.splits import SPLIT_NAMES
    from gnn_zoo.registry import BACKENDS
    from gnn_zoo.variants import VARIANTS

    from .options import DATASETS

    return {"split": tuple(SPLIT_NAMES), "backend": BACKENDS, "dataset": DATASETS, "ghn": (*VARIANTS, PREDICTOR)}


def read_record(path: str | os.PathLike) -> dict:
    """The validated record in `path`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(f"not UTF-8 text (a binary or corrupt file? byte {err.start})") from err
    except OSError as err:
        raise RecordError(f"unreadable ({err.strerror or err})") from err
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise RecordError(f"not valid JSON (truncated or corrupt? {err.msg} at line {err.lineno})") from err
    return validate(record)


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
    import torch

    info = {**cpu_info(), "cores": os.cpu_count(), "device": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def now() -> str:
    """UTC time stamp, ISO 8601."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def build_record(args, spec, split: str, result, ghn, ckpt: Path, train_seconds: float | None) -> dict:
    """The record of one evaluated split (`result`: bench.evaluate.EvalResult) of the run set up
    by `args`/`spec` (bench.train.TrainSpec), with the GHN in `ckpt`."""
    from deepnets1m.splits import GENERATOR_VERSION

    from .train import STREAM_VERSION, training_summary

    preset, (setting, protocol) = spec.preset, spec.core_setting()
    metrics = result.metrics()
    training = training_summary(ckpt, ghn.num_classes)
    training["collapsed"] = collapsed(training["loss_at_chance"], metrics)
    return {
        "schema": SCHEMA,
        "gnn": args.gnn,
        "backend": args.backend,
        "split": split,
        "ghn": preset.ghn,
        "view": preset.view,
        "dataset": args.dataset,
        "preset": preset.label,
        "seed": args.seed,
        "metrics": metrics,
        "archs": result.rows,
        "eval_noise": preset.eval_noise,
        "deepnets1m_generator": GENERATOR_VERSION,
        "random_stream": STREAM_VERSION,
        "training": training,
        "sgd_steps": preset.sgd_steps,
        "finetune": result.finetune(),
        "preset_fields": preset.__dict__,
        "ghn_params": sum(p.numel() for p in ghn.parameters()),
        "core": {**core_summary(ghn, protocol), "matched": setting.matched},
        "train_seconds": train_seconds,
        "predict_ms": metrics_mean(result.rows, "predict_ms"),
        "checkpoint": checkpoint_key(ckpt),
        "versions": versions(),
        "git_commit": git_commit(),
        "hardware": hardware(args.device),
        "created": now(),
    }


def checkpoint_key(path: str | os.PathLike) -> str:
    """How a record names its checkpoint: the file's stem, what gnn_zoo.load and `bench
    list-checkpoints` take under any machine's checkpoint folder (never a machine's path). A
    missing checkpoint is rebuilt from the record's fields: `bench reproduce RECORD`."""
    return Path(path).stem


def collapsed(loss_at_chance: bool, metrics: dict) -> bool:
    """Whether a run collapsed: its training loss sat at chance over the last steps
    (bench.train.training_summary), or its predicted parameters score no better than random
    init on the split. Collapsed runs stay in every table (a core that collapses more often is
    worse), flagged and counted."""
    ghn, random = metrics.get("ghn", {}).get("mean"), metrics.get("random_init", {}).get("mean")
    return bool(loss_at_chance or (ghn is not None and random is not None and ghn <= random))


def core_summary(ghn, protocol: str) -> dict:
    """What a record says of the compared core: name, graph view, layers, parameter count (all,
    and without embedding tables: the budget protocol v1 matches) and the protocol."""
    from gnn_zoo.base import embedding_params

    core = ghn.core
    params = sum(p.numel() for p in core.parameters())
    return {
        "name": core.name,
        "view": core.view,
        "layers": core.layers,
        "params": params,
        "params_without_embeddings": params - embedding_params(core),
        "protocol": protocol,
    }


def metrics_mean(rows: list[dict], key: str) -> float:
    """Mean of one column of the per-architecture rows."""
    return sum(r[key] for r in rows) / len(rows)


def method(k: int, random: bool = False) -> str:
    """The record key of top-1 after `k` fine-tuning steps from the GHN's (or random) parameters."""
    return f"ft{k}_random" if random else f"ft{k}"


def catch_up_key(k: int) -> str:
    """The per-net record key of the steps random init needs to reach the GHN init's top-1 after `k`."""
    return f"{method(k)}_catch_up"


def median_catch_up(steps: list[int | None]) -> float | None:
    """The median of catch-up steps, a net random init never caught counting as beyond every
    other; None when that median is such a net."""
    median = statistics.median(math.inf if s is None else s for s in steps)
    return None if math.isinf(median) else median


def parse_method(name: str) -> int | None:
    """K of a fine-tuning method name `ftK` (None for any other method)."""
    return int(name[2:]) if name.startswith("ft") and name[2:].isdigit() and int(name[2:]) > 0 else None
