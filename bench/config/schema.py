"""The record schema: what a run's result file holds, its name, how tables label and group it,
and reading and validating one. The harness (bench.config.records) builds records; this package reads
them, so it knows their layout without importing the harness."""

from __future__ import annotations

import json
import math
import os
import re
import statistics
from pathlib import Path

from deepnets1m.atomic import atomic_write
from deepnets1m.splits import SPLIT_NAMES
from gnn_zoo.registry import BACKENDS
from gnn_zoo.variants import VARIANTS

# records' data sets and their classes (bench.harness.data loads each; a loss of ln classes is chance)
DATASET_CLASSES = {"digits": 10, "fashion-mnist": 10, "cifar10": 10, "cifar100": 100, "imagenet": 1000}
DATASETS = tuple(DATASET_CLASSES)
PROTOCOL = "v1"  # the comparison protocol of current runs (bench.config.protocol sets cores up by it)
NO_PROTOCOL = "none"  # depth set by hand (--layers), or records written before protocols
MANIFEST = "manifest.json"  # a results folder's provenance file (bench.config.manifest), not a record
# the fields of a named preset as a GHN variant runs it, (preset name, variant) -> fields or None

SCHEMA = "ghnbench-record-1"
RECORD_KEYS = ("gnn", "backend", "split", "dataset", "preset", "seed", "ghn", "view")
DEFAULT_GHN = "ghn2"  # the variant of records written before variants existed


def chance_loss(dataset: str) -> float:
    """The cross-entropy of constant logits on `dataset`: ln of its classes."""
    return math.log(DATASET_CLASSES[dataset])


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


def property_record_name(record: dict) -> str:
    """The file name of a property record (`bench properties`, `bench run --properties`)."""
    r = record
    return f"{r['ghn']}_{r['gnn']}_{r['backend']}_{r['dataset']}_{r['preset']}_{r['seed']}_n{r['nets']}.json"


def write_record(results_dir: str | os.PathLike, record: dict) -> Path:
    """Write `record` atomically into `results_dir` (replacing the same run's earlier record)."""
    path = Path(results_dir) / record_name(record)
    with atomic_write(path, "w") as f:
        json.dump(record, f, indent=1)
    return path


VARIANT_LABELS = {"ghn1": "GHN-1", "mlp": "paper's MLP", "ghn3": "GHN-3"}  # how tables name the paper's ablation rows


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
