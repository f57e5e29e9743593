"""Property prediction from a GHN's embeddings (`bench properties`, GHN-2 section 5.3): how well
a trained GHN's mean node embedding of a net ranks nets by properties of their training, against
the same regressors on plain graph statistics.

Labels (per net, a function of the net, the data set and the label recipe only: computed once
and shared by every core and seed, `$GHNBENCH_HOME/properties/.labels/`): top-1 after `steps`
SGD steps from random init on clean and on noisy eval images (as --eval-noise makes them),
convergence speed (the first step whose training loss, averaged over the last 5 steps, is below
`target_loss`; censored at `max_steps` + 1) and inference time (measured: the fastest of 5
forward passes of one batch of eval images, stored apart and keyed by the machine too). The nets:
the first n/2 of `val` and of `test`, pooled; 5 random halvings fit a ridge and an SVR
(scikit-learn) on one half and score Kendall's tau on the other.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from tqdm.auto import tqdm

from bench.config.records import checkpoint_key, git_commit, hardware, now, versions
from bench.harness.baselines import BaselineStore
from bench.harness.data import ImageData, with_pixel_noise
from bench.harness.evaluate import accuracy
from bench.harness.nets import fit_input, input_size, make_net
from bench.harness.workloads import synced
from deepnets1m import sample, spec_graph
from deepnets1m.graph import ArchGraph

PROPERTIES = ("accuracy", "noisy_accuracy", "inference_ms", "convergence")
TRAINED = ("accuracy", "noisy_accuracy", "convergence")  # from SGD steps: a function of the net's seed and recipe
TIMED = ("inference_ms",)  # measured: a property of the machine too, stored apart (store_folder/inference/)
SOURCE_SPLITS = ("val", "test")  # held out from GHN training; n/2 nets of each
LABEL_VERSION = 2  # bump when the labels' computation changes: older label files are then ignored (2: stored
# per split and net, each net's init seeded by them, so that more nets reuse fewer)
LABEL_SEED, SPLIT_STRIDE = 7_000_021, 100_000  # a label net's init seed: LABEL_SEED + SPLIT_STRIDE x split + index
FITS = 5
SAVE_EVERY = 20  # nets labelled between saves: an interrupted labelling resumes from the last save
TIMING_VERSION, TIMING_REPEATS = 1, 5  # inference time: the fastest of 5 timed passes after a warm-up


@dataclass(frozen=True)
class LabelRecipe:
    """How the labels are made: SGD steps for the accuracies, the loss convergence is timed to
    and the step cap, eval images, the noise std of noisy_accuracy."""

    steps: int = 10
    target_loss: float = 1.0
    max_steps: int = 50
    eval_images: int = 360
    eval_batch: int = 120
    noise: float = 0.08  # GHN-2's CIFAR-10 noise


def net_names(nets: int) -> list[tuple[str, int]]:
    """(split, index) of the property nets: the first nets/2 of each source split."""
    return [(split, i) for split in SOURCE_SPLITS for i in range(nets // 2)]


def graph_features(graph: ArchGraph) -> np.ndarray:
    """The graph-free baseline's features: nodes, edges, depth (longest path), log10 parameters."""
    return np.array(
        [graph.num_nodes, graph.edge_index.shape[1], int(graph.level.max()) + 1, np.log10(max(1, graph.num_params))],
        dtype=np.float64,
    )


def inference_ms(net: torch.nn.Module, x: torch.Tensor, repeats: int = TIMING_REPEATS) -> float:
    """Milliseconds of one eval-mode forward pass of `x`: the fastest of `repeats` after a warm-up
    pass (the minimum is the pass least disturbed by other processes)."""
    net.eval()
    forward = synced(lambda: net(x), x.device)  # a GPU runs the pass after the call returns: wait for it
    times = []
    with torch.no_grad():
        forward()
        for _ in range(repeats):
            start = time.perf_counter()
            forward()
            times.append(time.perf_counter() - start)
    return 1000 * min(times)


def net_labels(
    net: torch.nn.Module, data: ImageData, recipe: LabelRecipe, size: int, device: torch.device, accuracy
) -> dict:
    """The TRAINED labels of one randomly initialised net (trained in place)."""
    clean = data.eval_batches(recipe.eval_images, recipe.eval_batch, "test")
    noisy = with_pixel_noise(clean, data, recipe.noise, 0)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses, out = [], {"convergence": recipe.max_steps + 1}
    for step, (x, y) in zip(range(1, max(recipe.steps, recipe.max_steps) + 1), data.train_batches(64, 0)):
        net.train()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(fit_input(x.to(device), size)), y.to(device))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step == recipe.steps:
            out["accuracy"] = accuracy(net, clean, size, device)[0]
            out["noisy_accuracy"] = accuracy(net, noisy, size, device)[0]
        if out["convergence"] > recipe.max_steps and len(losses) >= 5 and np.mean(losses[-5:]) < recipe.target_loss:
            out["convergence"] = step
        if step >= recipe.steps and out["convergence"] <= recipe.max_steps:
            break
    return out


def label_net(
    split: str,
    index: int,
    data: ImageData,
    recipe: LabelRecipe,
    device: torch.device,
    wanted: tuple[str, ...] = PROPERTIES,
) -> dict:
    """The `wanted` labels of net `index` of `split`: its random init seeded by its split and
    index alone, timed (TIMED) and then trained (TRAINED) as the recipe says."""

    spec = sample(split, index)
    size = input_size(spec, data.image_size)
    torch.manual_seed(LABEL_SEED + SPLIT_STRIDE * SOURCE_SPLITS.index(split) + index)  # the nets' own stream
    net = make_net(spec, data.num_classes, data.in_channels, data.image_size, device)
    out = {}
    if set(TIMED) & set(wanted):
        batch = data.eval_batches(recipe.eval_batch, recipe.eval_batch, "test")[0][0]
        out["inference_ms"] = inference_ms(net, fit_input(batch.to(device), size))
    if set(TRAINED) & set(wanted):
        out.update(net_labels(net, data, recipe, size, device, accuracy))
    return {p: out[p] for p in wanted}


_WORKER: dict = {}  # a labelling worker process's data, recipe and device, set once by _start_worker


def _start_worker(data: ImageData, recipe: LabelRecipe, device: torch.device) -> None:
    """Set up a labelling worker: one torch thread; Ctrl-C is left to the parent, which stops the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    _WORKER.update(data=data, recipe=recipe, device=device)


def _label_in_worker(split: str, index: int, wanted: tuple[str, ...]) -> tuple[str, int, dict]:
    """label_net in a worker process, tagged with the net it labels."""
    return split, index, label_net(split, index, wanted=wanted, **_WORKER)


def computed_labels(
    missing: list[tuple[str, int, tuple[str, ...]]],
    data: ImageData,
    recipe: LabelRecipe,
    device: torch.device,
    workers: int = 1,
) -> Iterator[tuple[str, int, dict]]:
    """(split, index, labels) of each missing (split, index, wanted labels): in this process, or
    with `workers` > 1 in that many one-thread worker processes (results in the order they finish;
    the pool is stopped when the caller stops early or is interrupted)."""
    if workers <= 1 or len(missing) <= 1:
        for split, index, wanted in missing:
            yield split, index, label_net(split, index, data, recipe, device, wanted)
        return
    context = multiprocessing.get_context("spawn")  # fork after torch's threads started is unsafe
    pool = ProcessPoolExecutor(
        min(workers, len(missing)), mp_context=context, initializer=_start_worker, initargs=(data, recipe, device)
    )
    try:
        futures = [pool.submit(_label_in_worker, *net) for net in missing]
        for future in as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def label_stores(
    folder, dataset: str, recipe: LabelRecipe, device: torch.device
) -> dict[str, dict[str, BaselineStore]]:
    """The shared label stores per source split: "trained" (keyed by the recipe) and "timed" (in
    folder/inference/, keyed by the eval batch, the timing and the machine that timed them)."""

    machine = hardware(device.type)
    trained = {
        "version": LABEL_VERSION,
        "kind": "properties",
        "dataset": dataset,
        "seed": 0,
        "device": device.type,
        **asdict(recipe),
    }
    timed = {
        "version": TIMING_VERSION,
        "kind": "inference_time",
        "dataset": dataset,
        "seed": 0,
        "device": device.type,
        "eval_batch": recipe.eval_batch,
        "repeats": TIMING_REPEATS,
        "machine": machine.get("gpu", machine["cpu"]),
    }
    return {
        split: {
            "trained": BaselineStore(folder, {**trained, "split": split}),
            "timed": BaselineStore(Path(folder) / "inference", {**timed, "split": split}),
        }
        for split in SOURCE_SPLITS
    }


LABEL_GROUPS = {"trained": TRAINED, "timed": TIMED}


def unlabelled(
    stores: dict[str, dict[str, BaselineStore]], names: list[tuple[str, int]]
) -> list[tuple[str, int, tuple[str, ...]]]:
    """(split, index, the labels it lacks) of each of the nets `names` the stores lack a label of."""
    missing = []
    for split, i in names:
        wanted = tuple(
            p for group, props in LABEL_GROUPS.items() if stores[split][group].get(i, props) is None for p in props
        )
        if wanted:
            missing.append((split, i, wanted))
    return missing


def missing_labels(store_folder, dataset: str, recipe: LabelRecipe, nets: int, device: torch.device) -> int:
    """How many of the first `nets` property nets lack a label in the shared stores (this machine's
    inference times included)."""
    return len(unlabelled(label_stores(store_folder, dataset, recipe, device), net_names(nets)))


def labelling_phases(
    missing: list[tuple[str, int, tuple[str, ...]]], workers: int
) -> list[tuple[list[tuple[str, int, tuple[str, ...]]], int]]:
    """The (nets and the labels they lack, processes) phases that compute `missing`: in this
    process alone, or with `workers` > 1 the trained labels in that many workers and then the
    inference times in this process, one net at a time once the workers are done (a time taken
    beside a busy process is not the net's)."""
    if workers <= 1:
        return [(missing, 1)]
    by_group = ([(s, i, tuple(p for p in want if p in props)) for s, i, want in missing] for props in (TRAINED, TIMED))
    trained, timed = ([net for net in todo if net[2]] for todo in by_group)
    return [(trained, workers), (timed, 1)]


def labels(
    data: ImageData,
    dataset: str,
    recipe: LabelRecipe,
    nets: int,
    store_folder,
    device: torch.device,
    progress: bool = True,
    workers: int = 1,
) -> tuple[list[dict], list[np.ndarray], list[ArchGraph]]:
    """Labels, graph features and graphs of the property nets; labels from the shared stores where
    they have them (computed where not, the trained ones in `workers` processes and the inference
    times then in this one, labelling_phases; stored: saved every SAVE_EVERY nets and when
    interrupted, so that a run resumes). A net's labels are keyed by its split and
    index there, and its random init by the same, so a run over more nets reuses a run over fewer."""
    stores = label_stores(store_folder, dataset, recipe, device)
    names = net_names(nets)
    graphs = [
        spec_graph(spec, data.num_classes, data.in_channels, input_size(spec, data.image_size))
        for spec in (
            sample(split, i) for split, i in tqdm(names, desc="property graphs", unit="net", disable=not progress)
        )
    ]
    phases = labelling_phases(unlabelled(stores, names), workers)
    missing = sum(len(todo) for todo, _ in phases)
    try:
        for done, (split, i, row) in enumerate(
            tqdm(
                chain.from_iterable(computed_labels(todo, data, recipe, device, n) for todo, n in phases),
                total=missing,
                desc="property labels",
                unit="net",
                disable=not progress or not missing,
            ),
            1,
        ):
            for group, props in LABEL_GROUPS.items():
                if props[0] in row:
                    stores[split][group].put(i, {p: row[p] for p in props})
            if done % SAVE_EVERY == 0:
                save_all(stores)
    finally:  # an exception or Ctrl-C keeps what was computed (a killed process: up to the last save)
        save_all(stores)
    merged = ({**stores[split]["trained"].rows[i], **stores[split]["timed"].rows[i]} for split, i in names)
    rows = [{p: row[p] for p in PROPERTIES} for row in merged]  # timed over an old trained row's time
    return rows, [graph_features(g) for g in graphs], graphs


def save_all(stores: dict[str, dict[str, BaselineStore]]) -> None:
    """Write every split's label stores."""
    for by_group in stores.values():
        for store in by_group.values():
            store.save()


@torch.no_grad()
def embeddings(ghn, graphs: list[ArchGraph], chunk: int = 16) -> np.ndarray:
    """[nets, hidden] mean node embedding of each graph (after the core and LayerNorm)."""
    ghn.eval()
    out = []
    for start in range(0, len(graphs), chunk):
        batch = ghn.batch(graphs[start : start + chunk])
        h = ghn.embed(batch).float().cpu()
        owner = torch.repeat_interleave(torch.arange(batch.num_graphs), torch.diff(batch.ptr))
        sums = torch.zeros(batch.num_graphs, h.shape[1]).index_add_(0, owner, h)
        out.append((sums / torch.diff(batch.ptr)[:, None]).numpy())
    return np.concatenate(out)


def kendall_fits(features: np.ndarray, target: np.ndarray, fits: int = FITS) -> dict[str, dict[str, float]]:
    """Per regressor (ridge, svr): Kendall's tau on the held-out half over `fits` random halvings,
    mean and standard deviation (each a scikit-learn pipeline with standardised features)."""
    models = {
        "ridge": lambda: make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
        "svr": lambda: make_pipeline(StandardScaler(), SVR()),
    }
    out = {}
    for name, make in models.items():
        taus = []
        for fit in range(fits):
            order = np.random.default_rng(fit).permutation(len(target))
            train, test = order[: len(order) // 2], order[len(order) // 2 :]
            scale = target[train].std() or 1.0  # SVR's epsilon is absolute: fit the standardised target
            model = make().fit(features[train], (target[train] - target[train].mean()) / scale)
            taus.append(stats.kendalltau(model.predict(features[test]), target[test]).statistic)
        valid = [t for t in taus if not np.isnan(t)]  # NaN: a constant target or prediction in a half
        out[name] = {
            "tau": float(np.mean(valid)) if valid else float("nan"),
            "sd": float(np.std(valid, ddof=1)) if len(valid) > 1 else float("nan"),
            "fits": len(valid),
        }
    return out


def property_scores(embedding: np.ndarray, graph_stats: np.ndarray, rows: list[dict]) -> dict:
    """{property: {"ghn": kendall_fits of the embeddings, "graph": of the graph statistics}}."""
    out = {}
    for prop in PROPERTIES:
        target = np.array([r[prop] for r in rows], dtype=np.float64)
        out[prop] = {"ghn": kendall_fits(embedding, target), "graph": kendall_fits(graph_stats, target)}
    return out


def format_scores(scores: dict) -> str:
    """A text table: per property, the GHN embeddings' and the graph statistics' tau (ridge / SVR)."""
    lines = [
        "Kendall tau on held-out nets (mean over 5 fits; ridge / SVR):",
        f"  {'property':16} {'GHN embeddings':>22} {'graph statistics':>22}",
    ]
    for prop, by_source in scores.items():
        cells = [" / ".join(f"{by_source[s][m]['tau']:+.2f}" for m in ("ridge", "svr")) for s in ("ghn", "graph")]
        lines.append(f"  {prop:16} {cells[0]:>22} {cells[1]:>22}")
    return "\n".join(lines)


def property_record(args, preset: str, recipe: LabelRecipe, nets: int, scores: dict, ckpt: Path) -> dict:
    """The record of one GHN's property scores over `nets` nets (`args`: the command's options, for
    the GHN's identity; `preset`: its label), naming its checkpoint by key."""
    return {
        "kind": "properties",
        "gnn": args.gnn,
        "backend": args.backend,
        "ghn": args.ghn,
        "view": args.view,
        "dataset": args.dataset,
        "preset": preset,
        "seed": args.seed,
        "nets": nets,
        "recipe": asdict(recipe),
        "scores": scores,
        "checkpoint": checkpoint_key(ckpt),
        "versions": versions(),
        "git_commit": git_commit(),
        "hardware": hardware(args.device),
        "created": now(),
    }
