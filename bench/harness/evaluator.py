"""An evaluator for any parameter predictor, as OGB's `Evaluator`: the split's fixed nets and
images, the shared baselines, and the record the leaderboard reads.

    from bench import Evaluator
    evaluator = Evaluator("val", dataset="digits", preset="tiny")
    record = evaluator(my_predictor, name="my-predictor")   # my_predictor(module) fills its parameters
    evaluator.save(record)                                   # a row of `bench leaderboard`
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from torch import nn

from bench.config.paths import results_root
from bench.config.presets import Preset, check_dataset, get_preset
from bench.config.protocol import PROTOCOL
from bench.config.records import evaluation_fields
from bench.config.schema import PREDICTOR, SCHEMA, write_record
from bench.harness.baselines import BaselineStore, baseline_key
from bench.harness.data import ImageData, load_data
from bench.harness.evaluate import evaluate


def predictor_record(
    predict,
    name: str,
    split: str,
    data: ImageData,
    dataset: str,
    preset: Preset,
    results: Path,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
) -> dict:
    """Evaluate `predict` (a GHN or any predictor) on `split` with the shared baselines under
    `results` and return its record as a predictor named `name`."""
    store = BaselineStore(results / ".baselines", baseline_key(dataset, split, preset, seed, device))
    result = evaluate(predict, split, data, preset, seed, device, progress, store)
    return {
        "schema": SCHEMA,
        "gnn": name,
        "backend": "none",
        "ghn": PREDICTOR,
        "view": None,
        **evaluation_fields(split, dataset, preset, seed, result, device),
        "baselines": store.summary(),
        "core": {"name": name, "view": None, "layers": None, "params": None, "protocol": PROTOCOL},
    }


class Evaluator:
    """Scores any predictor `predict(module) -> module` (in place when it returns None) on the
    first nets of `split` as `bench eval` scores a GHN: the same nets, images, BatchNorm mode and
    shared random-init / SGD baselines (under `results`/.baselines). Its records join the table
    of the preset's GHNs as `<name> (predictor)` rows."""

    def __init__(
        self,
        split: str = "val",
        dataset: str = "digits",
        preset: str = "tiny",
        data_dir: str | os.PathLike | None = None,
        results: str | os.PathLike | None = None,
        device: str = "cpu",
        seed: int = 0,
        **overrides,
    ) -> None:
        self.split, self.dataset, self.device, self.seed = split, dataset, device, seed
        self.preset = get_preset(preset, **overrides)  # overrides (eval_nets=..., ...) as bench's flags
        check_dataset(self.preset, dataset)
        self.data = load_data(dataset, data_dir, resize=self.preset.resize)
        self.results = Path(results or results_root())

    def __call__(self, predict: Callable[[nn.Module], nn.Module | None], name: str, progress: bool = False) -> dict:
        """The record of `predict` (named `name` in tables) on the split."""
        return predictor_record(
            predict,
            name,
            self.split,
            self.data,
            self.dataset,
            self.preset,
            self.results,
            self.seed,
            self.device,
            progress,
        )

    def save(self, record: dict) -> Path:
        """Write `record` into the results folder (atomically), where `bench leaderboard` finds it."""
        return write_record(self.results, record)
