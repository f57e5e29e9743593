"""Sharded on-disk cache of architecture graphs: shard k of a split holds indices [k*S, (k+1)*S)
as one .npz of flat arrays with per-graph offsets (CSR style), written atomically."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write
from .graph import ArchGraph
from .spec import ArchSpec
from .splits import GENERATOR_VERSION

FORMAT_VERSION = 1


class CacheError(RuntimeError):
    """A cache entry that is missing or unreadable; the message says how to rebuild it."""


def cache_dir(root: str | os.PathLike, split: str, num_classes: int, in_channels: int, image_size: int) -> Path:
    """Folder of one split's graphs for one input configuration (graphs depend on it) and generator."""
    return Path(root) / f"{split}_g{GENERATOR_VERSION}_c{num_classes}_i{in_channels}_s{image_size}"


def shard_path(folder: Path, shard: int) -> Path:
    """Path of shard `shard` in `folder`."""
    return folder / f"shard-{shard:06d}.npz"


def pack_shard(start: int, graphs: list[ArchGraph], specs: list[ArchSpec]) -> dict[str, np.ndarray]:
    """Flat arrays of consecutive graphs start, start+1, ... with offsets into them."""

    def ptr(counts):
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    shapes = [s for g in graphs for s in g.param_shapes]
    return {
        "meta": np.array([FORMAT_VERSION, start, len(graphs)], dtype=np.int64),
        "node_types": np.concatenate([g.node_types.numpy() for g in graphs]).astype(np.uint8),
        "level": np.concatenate([g.level.numpy() for g in graphs]).astype(np.int32),
        "edges": np.concatenate([g.edge_index.numpy() for g in graphs], axis=1).astype(np.int32),
        "param_node": np.concatenate([g.param_node.numpy() for g in graphs]).astype(np.int32),
        "param_ndim": np.array([len(s) for s in shapes], dtype=np.uint8),
        "param_dims": np.array([d for s in shapes for d in s], dtype=np.int64),
        "node_ptr": ptr([g.num_nodes for g in graphs]),
        "edge_ptr": ptr([g.num_edges for g in graphs]),
        "param_ptr": ptr([len(g.param_names) for g in graphs]),
        "dims_ptr": ptr([sum(len(s) for s in g.param_shapes) for g in graphs]),
        **pack_texts(
            ["\n".join([s.to_json(), "\t".join(g.node_names), "\t".join(g.param_names)]) for g, s in zip(graphs, specs)]
        ),
    }


def pack_texts(texts: list[str]) -> dict[str, np.ndarray]:
    """Strings as one UTF-8 byte blob plus offsets (numpy's fixed-width strings waste space)."""
    encoded = [t.encode() for t in texts]
    return {
        "text": np.frombuffer(b"".join(encoded), dtype=np.uint8),
        "text_ptr": np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64),
    }


def write_shard(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a shard atomically."""
    with atomic_write(path) as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy's stub: a **dict might name allow_pickle


@functools.lru_cache(maxsize=16)
def load_shard(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a shard, read once and kept (an LRU of recent shards)."""
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except Exception as err:
        raise CacheError(f"cache shard {path} is unreadable ({err}); delete it and run `bench generate` again") from err
    if int(arrays["meta"][0]) != FORMAT_VERSION:
        raise CacheError(
            f"cache shard {path} has format {int(arrays['meta'][0])}, expected {FORMAT_VERSION}; regenerate it"
        )
    return arrays


def unpack_graph(a: dict[str, np.ndarray], k: int) -> tuple[ArchGraph, ArchSpec]:
    """Graph and spec number k (relative to the shard start) of a loaded shard."""
    n0, n1 = a["node_ptr"][k : k + 2]
    e0, e1 = a["edge_ptr"][k : k + 2]
    p0, p1 = a["param_ptr"][k : k + 2]
    d0 = a["dims_ptr"][k]
    ndim = a["param_ndim"][p0:p1]
    dims = a["param_dims"][d0 : d0 + int(ndim.sum())].tolist()
    ends = np.cumsum(ndim).tolist()
    shapes = [tuple(dims[e - n : e]) for e, n in zip(ends, ndim.tolist())]
    t0, t1 = a["text_ptr"][k : k + 2]
    spec_json, node_names, param_names = a["text"][t0:t1].tobytes().decode().split("\n")
    graph = ArchGraph(
        node_types=torch.from_numpy(a["node_types"][n0:n1].astype(np.int64)),
        edge_index=torch.from_numpy(a["edges"][:, e0:e1].astype(np.int64)),
        level=torch.from_numpy(a["level"][n0:n1].astype(np.int64)),
        node_names=node_names.split("\t"),
        param_names=param_names.split("\t") if param_names else [],
        param_shapes=shapes,
        param_node=torch.from_numpy(a["param_node"][p0:p1].astype(np.int64)),
    )
    return graph, ArchSpec.from_json(spec_json)


class GraphCache:
    """Random access to the cached graphs of one split and input configuration."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        info = self.folder / "info.json"
        if not info.exists():
            raise CacheError(f"no graph cache at {self.folder}; create it with `bench generate`")
        self.info = json.loads(info.read_text())
        self.shard_size = int(self.info["shard_size"])

    def __len__(self) -> int:
        return int(self.info["n"])

    def get(self, index: int) -> tuple[ArchGraph, ArchSpec]:
        """Graph and spec of architecture `index`."""
        if not 0 <= index < len(self):
            raise IndexError(f"cache {self.folder} holds {len(self)} architectures; index {index} is out of range")
        shard, k = divmod(index, self.shard_size)
        path = shard_path(self.folder, shard)
        if not path.exists():
            raise CacheError(f"cache shard {path} is missing; run `bench generate` again to finish it")
        arrays = load_shard(path)
        if int(arrays["meta"][1]) != shard * self.shard_size:
            raise CacheError(
                f"cache shard {path} does not start at {shard * self.shard_size}; delete {self.folder} and regenerate"
            )
        return unpack_graph(arrays, k)

    def __getitem__(self, index: int) -> ArchGraph:
        return self.get(index)[0]
