"""Fine-tuning from predicted parameters (`--finetune K[,K...]`): per evaluated net, SGD from the
GHN's parameters and from random init with the same batches, optimiser and schedule, accuracy
after each K, and the steps random init needs to catch up (GHN-3's "GHN init vs random init
after k epochs", on DeepNets-1M's nets).

Record keys, per net row and summarised in `metrics` like the 0-step methods: `ft{K}` (top-1 %
after K steps from the GHN's parameters), `ft{K}_random` (from random init), their `_top5`, and
`ft{K}_catch_up`: the steps random init needs to reach `ft{K}` on a log grid of checkpoints
(None: it does not within the largest K). The random-init curves are a function of the data set,
split, net, seed and recipe only: shared by every core through a BaselineStore, as the SGD
baseline is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bench.config.presets import FinetuneRecipe
from bench.config.schema import catch_up_key, median_catch_up, method
from bench.harness.data import ImageData
from bench.harness.nets import fit_input, net_seed

NOISE_SEED = 1  # the noise added to predicted weights (--finetune-noise) is drawn from seed x this stream


def curve(
    net: nn.Module,
    data: ImageData,
    checkpoints: tuple[int, ...],
    lr: float,
    seed: int,
    size: int,
    device: torch.device,
    accuracy,
) -> dict[int, tuple[float, float]]:
    """SGD from the net's current parameters (momentum 0.9, batch 64, BatchNorm in train mode,
    the batches of `seed`), and (top-1, top-5) from `accuracy(net)` after each checkpoint step.
    Channels-last, as evaluation runs (`net` is converted in place), so every net trains in one
    memory format whether or not it was scored before."""
    net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    out: dict[int, tuple[float, float]] = {}
    batches = data.train_batches(64, seed)
    for step in range(1, max(checkpoints) + 1):
        net.train()
        x, y = next(batches)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(fit_input(x.to(device), size, channels_last=True)), y.to(device)).backward()
        opt.step()
        if step in checkpoints:
            out[step] = accuracy(net)
    return out


def catch_up(random_curve: dict[int, float], target: float) -> int | None:
    """The first checkpoint step at which the random-init curve reaches `target` (None: never)."""
    return next((step for step in sorted(random_curve) if random_curve[step] >= target), None)


@torch.no_grad()
def add_noise(net: nn.Module, std: float, seed: int, index: int) -> None:
    """Gaussian noise of `std` times each weight tensor's own std on every >= 2-D parameter (the
    predicted weights' scale varies by layer), from a generator of (seed, net index)."""
    gen = torch.Generator().manual_seed(net_seed(seed, index) + NOISE_SEED)
    for p in net.parameters():
        if p.dim() >= 2:
            p.add_(std * p.std() * torch.randn(p.shape, generator=gen).to(p.device, p.dtype))


def ghn_row(
    net: nn.Module,
    recipe: FinetuneRecipe,
    data: ImageData,
    seed: int,
    index: int,
    size: int,
    device: torch.device,
    accuracy,
) -> dict:
    """Fine-tune `net` (holding the GHN's parameters) in place: {ftK, ftK_top5} for every K."""
    if recipe.noise:
        add_noise(net, recipe.noise, seed, index)
    points = curve(net, data, recipe.steps, recipe.lr, seed, size, device, accuracy)
    return {
        key: value
        for k, (top1, top5) in points.items()
        for key, value in ((method(k), top1), (f"{method(k)}_top5", top5))
    }


def random_row(
    net: nn.Module, recipe: FinetuneRecipe, data: ImageData, seed: int, size: int, device: torch.device, accuracy
) -> dict:
    """Fine-tune `net` (at its random init) in place: the shared row, {ftK_random, ftK_random_top5}
    for every K and the top-1 curve on the grid ('curve': {step: top-1})."""
    points = curve(net, data, recipe.grid(), recipe.lr, seed, size, device, accuracy)
    row: dict[str, float | dict[str, float]] = {
        key: value
        for k in recipe.steps
        for key, value in ((method(k, True), points[k][0]), (f"{method(k, True)}_top5", points[k][1]))
    }
    row["curve"] = {str(step): top1 for step, (top1, _) in points.items()}
    return row


def with_catch_up(row: dict, recipe: FinetuneRecipe, random_init: float) -> dict:
    """`row` (GHN and random-init keys merged) with ftK_catch_up for every K: the steps random
    init needs to reach the GHN init's top-1 after K (0 when random init already does)."""
    points = {0: random_init, **{int(step): top1 for step, top1 in row["curve"].items()}}
    return {
        **{k: v for k, v in row.items() if k != "curve"},
        **{catch_up_key(k): catch_up(points, row[method(k)]) for k in recipe.steps},
    }


def catch_up_summary(rows: list[dict], recipe: FinetuneRecipe) -> dict:
    """Per K: the median over nets of the steps random init needs to catch up (inf: not within
    the largest K), their ratio to K, and how many nets it never caught up on."""
    out = {}
    for k in recipe.steps:
        steps = [r[catch_up_key(k)] for r in rows if catch_up_key(k) in r]
        if not steps:
            continue
        median = median_catch_up(steps)
        out[str(k)] = {
            "median_steps": median,
            "median_ratio": None if median is None else median / k,
            "never": sum(s is None for s in steps),
            "nets": len(steps),
        }
    return out
