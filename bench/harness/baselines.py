"""The random-init and k-SGD-step baselines, computed once and shared by every core.

Both are a pure function of the data set, the split, the net's index, the evaluation settings,
the seed and the device kind: not of the GHN. So the first evaluation of a (data set, split,
settings, seed) stores each net's baseline accuracies in a small JSON file beside the records
(`<results>/.baselines/`, written atomically), and every later one, whatever its core, reads
them instead of running the nets again."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from bench.config.presets import Preset
from deepnets1m.atomic import atomic_write
from deepnets1m.splits import GENERATOR_VERSION

# 2: nets score and fine-tune channels-last. Bump when the baselines' computation changes: older files are then ignored
BASELINE_VERSION = 2
EVAL_FIELDS = ("eval_images", "eval_batch", "eval_noise", "sgd_steps", "sgd_lr")


def baseline_key(dataset: str, split: str, preset: Preset, seed: int, device: str) -> dict:
    """Everything a net's baseline accuracies depend on, besides its index."""

    return {
        "version": BASELINE_VERSION,
        "generator": GENERATOR_VERSION,
        "dataset": dataset,
        "split": split,
        "seed": seed,
        "device": device.split(":")[0],
        **{f: getattr(preset, f) for f in EVAL_FIELDS},
        **preset.later_fields(("resize",)),
    }


class BaselineStore:
    """The shared baseline rows of one key: {net index: {random_init, random_init_top5[, sgd, sgd_top5]}}."""

    def __init__(self, folder: str | Path, key: dict) -> None:
        digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        self.path = Path(folder) / f"{key['dataset']}_{key['split']}_s{key['seed']}_{digest}.json"
        self.key = key
        self.rows = self.read()
        self.reused = self.computed = 0

    def read(self) -> dict[int, dict]:
        """The rows on disk (none when the file is missing, unreadable or of another key)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {int(i): row for i, row in data.get("rows", {}).items()} if data.get("key") == self.key else {}

    def get(self, index: int, keys: tuple[str, ...]) -> dict | None:
        """Net `index`'s stored row if it holds every one of `keys`."""
        row = self.rows.get(index)
        if row is None or any(k not in row for k in keys):
            return None
        self.reused += 1
        return row

    def put(self, index: int, row: dict) -> None:
        """Keep net `index`'s freshly computed row (written by save)."""
        self.rows[index] = row
        self.computed += 1

    def save(self) -> None:
        """Write the rows, merged with any another evaluation stored meanwhile (atomically)."""
        if not self.computed:
            return
        merged = {**self.read(), **self.rows}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, "w") as f:
            json.dump({"key": self.key, "rows": {str(i): r for i, r in sorted(merged.items())}}, f)

    def summary(self) -> dict:
        """What a record says of its baselines: the shared file, nets reused and computed."""
        return {"file": str(self.path), "reused": self.reused, "computed": self.computed}
