import json

import numpy as np
import pytest

from deepnets1m import sample, spec_graph
from deepnets1m.cache import CacheError, GraphCache, load_shard, shard_path
from deepnets1m.generate import generate
from deepnets1m.splits import GENERATOR_VERSION


@pytest.fixture(autouse=True)
def _fresh_shard_cache():
    load_shard.cache_clear()
    yield
    load_shard.cache_clear()


def test_generate_and_read_back(tmp_path):
    report = generate("val", 23, tmp_path, shard_size=10, workers=2, progress=False)
    assert report.generated == 23 and report.mean_nodes > 10
    assert sorted(p.name for p in report.folder.glob("shard-*")) == [f"shard-00000{k}.npz" for k in range(3)]
    cache = GraphCache(report.folder)
    assert len(cache) == 23
    for i in (0, 9, 10, 22):
        graph, spec = cache.get(i)
        assert spec == sample("val", i)
        assert graph.same_structure(spec_graph(spec))
        assert graph.node_names == spec_graph(spec).node_names
    with pytest.raises(IndexError, match="holds 23"):
        cache.get(23)


def test_generate_resumes_and_rebuilds_only_missing_shards(tmp_path):
    report = generate("ood-deep", 20, tmp_path, shard_size=10, workers=1, progress=False)
    first = shard_path(report.folder, 0)
    second = shard_path(report.folder, 1)
    before = second.stat().st_mtime_ns
    first.unlink()
    again = generate("ood-deep", 20, tmp_path, shard_size=10, workers=1, progress=False)
    assert again.generated == 10 and first.exists() and second.stat().st_mtime_ns == before
    assert generate("ood-deep", 20, tmp_path, progress=False).generated == 0


def test_growing_n_extends_a_partial_last_shard(tmp_path):
    generate("test", 5, tmp_path, shard_size=10, progress=False)
    report = generate("test", 12, tmp_path, shard_size=10, progress=False)
    assert report.generated == 12  # shard 0 held 5 of 10 and was rebuilt, shard 1 is new
    cache = GraphCache(report.folder)
    assert len(cache) == 12 and cache.get(11)[1] == sample("test", 11)


def test_predefined_split_is_cached(tmp_path):
    report = generate("ood-predefined", 2, tmp_path, progress=False)
    graph, spec = GraphCache(report.folder).get(0)
    assert spec.predefined == "resnet50" and graph.num_params == 23_520_842  # the reference: 32x32-adjusted, 10 classes


def test_corrupt_and_missing_cache_are_clear_errors(tmp_path):
    with pytest.raises(CacheError, match="bench generate"):
        GraphCache(tmp_path / "nothing")
    report = generate("val", 4, tmp_path, shard_size=2, progress=False)
    shard_path(report.folder, 1).write_bytes(b"not a zip file")
    cache = GraphCache(report.folder)
    assert cache.get(0)[1] == sample("val", 0)  # other shards still read
    with pytest.raises(CacheError, match="unreadable.*delete it"):
        cache.get(3)
    assert generate("val", 4, tmp_path, progress=False).generated == 2  # the corrupt shard is rebuilt
    load_shard.cache_clear()
    assert GraphCache(report.folder).get(3)[1] == sample("val", 3)


def test_bad_n_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="between 1 and 100"):
        generate("ood-wide", 101, tmp_path, progress=False)


def test_cache_layout(tmp_path):
    report = generate("val", 3, tmp_path, progress=False)
    info = json.loads((report.folder / "info.json").read_text())
    assert info == {"split": "val", "n": 3, "shard_size": 500, "num_classes": 10, "in_channels": 3, "image_size": 32}
    assert report.folder.name == f"val_g{GENERATOR_VERSION}_c10_i3_s32"
    with np.load(shard_path(report.folder, 0)) as z:
        assert z["node_types"].dtype == np.uint8 and z["edges"].dtype == np.int32
    assert not list(report.folder.glob(".*tmp"))  # no temporary files left behind
