"""Evaluating predicted parameters: accuracy with no gradient step, against random init and
k SGD steps from random init, on the same architectures and images."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from bench.config.presets import FinetuneRecipe, Preset
from bench.config.schema import method
from bench.harness.baselines import BaselineStore
from bench.harness.data import Batch, ImageData, with_pixel_noise
from bench.harness.finetune import catch_up_summary, curve, ghn_row, random_row, with_catch_up
from bench.harness.nets import fit_input, input_size, logits_of, make_net, net_seed
from deepnets1m import SPLITS, sample, spec_graph
from deepnets1m.splits import arch_name
from gnn_zoo import GHN
from gnn_zoo.api import batch_stat_mode

METHODS = ("ghn", "random_init", "sgd")  # each row holds `method` (top-1 %) and `method_top5` (top-5 %)


def top5(method: str) -> str:
    """The row/metrics key of `method`'s top-5 accuracy."""
    return f"{method}_top5"


@torch.no_grad()
def accuracy(
    net: torch.nn.Module, batches: list[Batch], size: int, device: torch.device, batch_stats: bool = True
) -> tuple[float, float]:
    """(top-1, top-5) accuracy in % (top-5: the label among the 5 highest logits, or among all
    of them with fewer classes), BatchNorm on each batch's own statistics (see batch_stat_mode),
    or with `batch_stats=False` on its running statistics (plain eval mode). Runs channels-last
    (`net` is converted in place): the same logits up to float rounding, and on CPU batch norm,
    pooling and most convolutions of DeepNets-1M's nets run faster in it (docs/results-log.md)."""
    net.to(memory_format=torch.channels_last)
    if batch_stats:
        batch_stat_mode(net)
    else:
        net.eval()
    correct1 = correct5 = total = 0
    for x, y in batches:
        out, y = logits_of(net(fit_input(x.to(device), size, channels_last=True))), y.to(device)
        best = out.topk(min(5, out.shape[1]), dim=1).indices
        correct1 += int((best[:, 0] == y).sum())
        correct5 += int((best == y[:, None]).any(dim=1).sum())
        total += len(y)
    return 100.0 * correct1 / total, 100.0 * correct5 / total


def summary(values: list[float]) -> dict[str, float]:
    """Mean, standard error of the mean and max."""
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return {"mean": mean, "stderr": math.sqrt(var / n), "max": max(values), "n": n}


@dataclass
class EvalResult:
    """Per-architecture rows and per-method summaries of one split."""

    split: str
    rows: list[dict] = field(default_factory=list)
    recipe: FinetuneRecipe | None = None

    def metrics(self) -> dict[str, dict[str, float]]:
        """summary() of each method's top-1 and top-5 over the architectures that have it (the
        fine-tuning methods ftK and ftK_random included)."""
        tuned = [] if self.recipe is None else [m for k in self.recipe.steps for m in (method(k), method(k, True))]
        keys = [key for m in METHODS + tuple(tuned) for key in (m, top5(m))]
        return {
            k: summary([r[k] for r in self.rows if r.get(k) is not None])
            for k in keys
            if any(r.get(k) is not None for r in self.rows)
        }

    def finetune(self) -> dict | None:
        """The fine-tuning recipe and, per K, how many steps random init needed to catch up."""
        if self.recipe is None:
            return None
        return {
            "steps": list(self.recipe.steps),
            "lr": self.recipe.lr,
            "nets": self.recipe.nets,
            "noise": self.recipe.noise,
            "catch_up": catch_up_summary(self.rows, self.recipe),
        }


def owns_params(graph, net: torch.nn.Module) -> bool:
    """Whether `graph` (a spec's graph) names exactly `net`'s parameters with their shapes, so the
    GHN may predict from it without tracing the net again."""
    mine = [(n, tuple(p.shape)) for n, p in net.named_parameters(remove_duplicate=False)]
    return sorted(mine) == sorted(zip(graph.param_names, map(tuple, graph.param_shapes)))


EVAL_NOISE_SEED = 0  # the eval images' noise is the same for every run seed, so runs pair image by image


def evaluate(
    ghn: GHN | Callable[[nn.Module], nn.Module | None],
    split: str,
    data: ImageData,
    preset: Preset,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    baselines: BaselineStore | None = None,
) -> EvalResult:
    """Evaluate `ghn` (a GHN, or any predictor: a callable that fills a module's parameters and
    returns it, or None for in place) on the first preset.eval_nets architectures of `split`; the
    random-init and SGD baselines of a net come from `baselines` when it has them (and are
    stored there when not)."""
    dev = torch.device(device)
    if isinstance(ghn, GHN):
        ghn = ghn.to(dev).eval()
        predict = lambda net, graph: ghn(net, graph=graph)  # noqa: E731
    else:
        predict = lambda net, graph: ghn(net)  # noqa: E731
    n = SPLITS[split].size if preset.eval_nets is None else min(preset.eval_nets, SPLITS[split].size)
    images = data.eval_batches(preset.eval_images, preset.eval_batch, split)
    if preset.eval_noise:
        images = with_pixel_noise(images, data, preset.eval_noise, EVAL_NOISE_SEED)
    recipe = preset.finetune_recipe()
    result = EvalResult(split, recipe=recipe)
    tuned_store = (
        None
        if recipe is None or baselines is None
        else BaselineStore(baselines.path.parent, {**baselines.key, **recipe.key()})
    )  # the shared random-init curves
    for i in tqdm(range(n), desc=f"eval {split}", unit="net", disable=not progress):
        spec = sample(split, i)
        size = input_size(spec, data.image_size)
        score = lambda m, size=size: accuracy(m, images, size, dev)  # noqa: E731
        with_sgd = bool(preset.sgd_steps) and (preset.sgd_nets is None or i < preset.sgd_nets)
        needed = tuple(k for m in ("random_init", "sgd")[: 1 + with_sgd] for k in (m, top5(m)))
        shared = baselines.get(i, needed) if baselines is not None else None
        t0 = time.perf_counter()
        graph = spec_graph(spec, data.num_classes, data.in_channels, size)  # built once: counts and predicts
        graph_seconds = time.perf_counter() - t0
        torch.manual_seed(net_seed(seed, i))  # the random init of net i
        # the GHN writes every parameter: with the baselines known the random init is not needed
        # (on ood-wide nets of ~50M parameters it cost more than predicting them)
        # (a GHN does; any other predictor gets an initialised net, whatever it writes)
        net = make_net(
            spec,
            data.num_classes,
            data.in_channels,
            data.image_size,
            dev,
            init=shared is None or not isinstance(ghn, GHN),
        )
        row = {"index": i, "arch": arch_name(split, i), "params": graph.num_params}
        if shared is not None:
            row.update({k: shared[k] for k in needed})
        else:
            random_init = {k: v.clone() for k, v in net.state_dict().items()} if with_sgd else {}
            row["random_init"], row[top5("random_init")] = accuracy(net, images, size, dev)
            if with_sgd:
                net.load_state_dict(random_init)
                k = preset.sgd_steps  # the baseline is fine-tuning's recipe, scored after k steps
                row["sgd"], row[top5("sgd")] = curve(net, data, (k,), preset.sgd_lr, seed, size, dev, score)[k]
                net.load_state_dict(random_init)  # a predictor that writes only some parameters starts from random init
            if baselines is not None:
                baselines.put(i, {k: row[k] for k in needed})
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        net = predict(net, graph if owns_params(graph, net) else None) or net
        if dev.type == "cuda":
            torch.cuda.synchronize()
        row["predict_ms"] = 1000 * (graph_seconds + time.perf_counter() - t0)  # graph included, as before
        row["ghn"], row[top5("ghn")] = accuracy(net, images, size, dev)
        if recipe is not None and (recipe.nets is None or i < recipe.nets):
            row.update(
                finetune_row(net, spec, i, recipe, tuned_store, row["random_init"], data, seed, size, dev, score)
            )
        result.rows.append(row)
    for store in (baselines, tuned_store):
        if store is not None:
            store.save()
    return result


def finetune_row(
    net: nn.Module,
    spec,
    index: int,
    recipe: FinetuneRecipe,
    store: BaselineStore | None,
    random_init: float,
    data: ImageData,
    seed: int,
    size: int,
    dev: torch.device,
    score,
) -> dict:
    """Net `index` fine-tuned from the GHN's parameters (`net`, changed in place) and from its
    random init (the shared curve from `store` when it has it), with the catch-up steps; `score`:
    (top-1, top-5) of a net on the evaluation images."""
    shared = store.get(index, ("curve",)) if store is not None else None
    if shared is None:
        torch.manual_seed(net_seed(seed, index))  # the random init of net `index`, as the baselines draw it
        fresh = make_net(spec, data.num_classes, data.in_channels, data.image_size, dev, init=True)
        shared = random_row(fresh, recipe, data, seed, size, dev, score)
        if store is not None:
            store.put(index, shared)
    return with_catch_up({**ghn_row(net, recipe, data, seed, index, size, dev, score), **shared}, recipe, random_init)
