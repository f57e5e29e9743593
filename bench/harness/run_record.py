"""The record of one evaluated split of a GHN that `bench` trained: the run's identity and
preset, the metrics and per-net rows, the training's summary, the compared core, provenance."""

from __future__ import annotations

from pathlib import Path

from bench.config.records import checkpoint_key, evaluation_fields
from bench.config.schema import SCHEMA
from bench.harness.train import STREAM_VERSION, training_summary
from deepnets1m.splits import GENERATOR_VERSION
from gnn_zoo.base import embedding_params
from gnn_zoo.conv_decoder import DECODER_VERSION


def build_record(
    args, spec, split: str, result, ghn, ckpt: Path, train_seconds: float | None, eval_cpu_seconds: float | None = None
) -> dict:
    """The record of one evaluated split (`result`: bench.harness.evaluate.EvalResult) of the run set up
    by `args`/`spec` (bench.harness.train.TrainSpec), with the GHN in `ckpt`; `eval_cpu_seconds`: the
    CPU time its evaluation took (baselines and fine-tuning included)."""
    preset, (setting, protocol) = spec.preset, spec.core_setting()
    evaluated = evaluation_fields(split, args.dataset, preset, args.seed, result, args.device)
    training = training_summary(ckpt, ghn.num_classes)
    training["collapsed"] = collapsed(training["loss_at_chance"], evaluated["metrics"])
    return {
        "schema": SCHEMA,
        "gnn": args.gnn,
        "backend": args.backend,
        "ghn": preset.ghn,
        "view": preset.view,
        **evaluated,
        "deepnets1m_generator": GENERATOR_VERSION,
        "random_stream": STREAM_VERSION,
        "decoder_version": DECODER_VERSION,
        "training": training,
        "ghn_params": sum(p.numel() for p in ghn.parameters()),
        "core": {**core_summary(ghn, protocol), "matched": setting.matched},
        "train_seconds": train_seconds,
        "eval_cpu_seconds": eval_cpu_seconds,
        "checkpoint": checkpoint_key(ckpt),
    }


def collapsed(loss_at_chance: bool, metrics: dict) -> bool:
    """Whether a run collapsed: its training loss sat at chance over the last steps
    (bench.harness.train.training_summary), or its predicted parameters score no better than random
    init on the split. Collapsed runs stay in every table (a core that collapses more often is
    worse), flagged and counted."""
    ghn, random = metrics.get("ghn", {}).get("mean"), metrics.get("random_init", {}).get("mean")
    return bool(loss_at_chance or (ghn is not None and random is not None and ghn <= random))


def core_summary(ghn, protocol: str) -> dict:
    """What a record says of the compared core: name, graph view, layers, parameter count (all,
    and without embedding tables: the budget protocol v1 matches) and the protocol."""
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
