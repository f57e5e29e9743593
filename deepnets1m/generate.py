"""Generate a split's architectures (spec + graph) into the sharded cache, in parallel, resumably."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .atomic import atomic_write
from .cache import cache_dir, pack_shard, shard_path, write_shard
from .net import spec_graph
from .splits import sample, split_config


@dataclass
class GenerateReport:
    """What one `generate` call did."""

    folder: Path
    n: int
    generated: int  # architectures built by this call (the rest were already cached)
    seconds: float
    mean_nodes: float
    mean_params: float

    @property
    def arch_per_s(self) -> float:
        """Throughput of this call."""
        return self.generated / self.seconds if self.seconds > 0 else float("nan")


def build_shard(task: tuple[str, Path, int, int, int, dict]) -> tuple[list[int], list[int]]:
    """Build architectures [start, stop) of a split and write them as one shard (in a worker);
    returns their node and parameter counts."""
    split, folder, shard, start, stop, cfg = task
    built = [(spec_graph(spec, **cfg), spec) for spec in (sample(split, i) for i in range(start, stop))]
    write_shard(shard_path(folder, shard), pack_shard(start, [g for g, _ in built], [s for _, s in built]))
    return [g.num_nodes for g, _ in built], [g.num_params for g, _ in built]


def shard_complete(path: Path, expected: int) -> bool:
    """True when the shard exists and holds `expected` graphs."""
    if not path.exists():
        return False
    try:
        with np.load(path) as z:
            return int(z["meta"][2]) == expected
    except Exception:
        return False  # a corrupt shard is rebuilt


def generate(
    split: str,
    n: int | None = None,
    root: str | os.PathLike = "graphs",
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    shard_size: int = 500,
    workers: int | None = None,
    progress: bool = True,
) -> GenerateReport:
    """Write the first `n` architectures of `split` (default: all) under `root`; shards already
    complete are kept, so an interrupted run resumes where it stopped."""
    size = split_config(split).size
    n = size if n is None else n
    if not 1 <= n <= size:
        raise ValueError(f"--n must be between 1 and {size} (the size of {split}), got {n}")
    folder = cache_dir(root, split, num_classes, in_channels, image_size)
    info_path = folder / "info.json"
    old = json.loads(info_path.read_text()) if info_path.exists() else {}
    shard_size = int(old.get("shard_size", shard_size))
    cfg = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}
    done_before = int(old.get("n", 0))
    info = {"split": split, "n": done_before, "shard_size": shard_size, **cfg}
    write_info(info_path, info)  # the shard layout is fixed before any shard is written
    tasks = [
        (split, folder, k, k * shard_size, min((k + 1) * shard_size, n), cfg)
        for k in range(-(-n // shard_size))
        if not shard_complete(shard_path(folder, k), min(shard_size, n - k * shard_size))
    ]
    total = sum(t[4] - t[3] for t in tasks)
    nodes, params, t0 = [], [], time.perf_counter()
    with tqdm(total=total, desc=f"generate {split}", unit="arch", disable=not progress) as bar:
        for shard_nodes, shard_params in run_tasks(tasks, workers or os.cpu_count() or 1):
            nodes += shard_nodes
            params += shard_params
            bar.update(len(shard_nodes))
    write_info(info_path, {**info, "n": max(n, done_before)})
    return GenerateReport(
        folder=folder,
        n=n,
        generated=total,
        seconds=time.perf_counter() - t0,
        mean_nodes=float(np.mean(nodes)) if nodes else float("nan"),
        mean_params=float(np.mean(params)) if params else float("nan"),
    )


def run_tasks(tasks: list, workers: int):
    """Results of build_shard over `tasks` as they finish, from a process pool when workers > 1."""
    if workers <= 1 or len(tasks) <= 1:
        yield from map(build_shard, tasks)
        return
    with multiprocessing.get_context("fork").Pool(min(workers, len(tasks))) as pool:
        yield from pool.imap_unordered(build_shard, tasks)


def write_info(path: Path, info: dict) -> None:
    """Atomically write the cache's info.json."""
    with atomic_write(path, "w") as f:
        json.dump(info, f, indent=1)
