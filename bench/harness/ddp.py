"""torch.distributed plumbing for multi-GPU / multi-node training (torchrun or `--nproc N`).

The meta-batch's architectures are split across ranks, every rank sees the same images, the
GHN is wrapped in DistributedDataParallel (gradients averaged, so N ranks on m architectures
take the same step as one process on all m), a non-finite loss on any rank skips the step on
all of them, and only rank 0 writes checkpoints and records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from gnn_zoo import GHN


@dataclass(frozen=True)
class Context:
    """This process's place in the job."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        """Whether this is rank 0 (the one that writes files and prints)."""
        return self.rank == 0


def launched() -> bool:
    """Whether torchrun (or `bench --nproc`) started this process as one rank of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str) -> Context:
    """Join the process group when launched as a rank (NCCL on CUDA, gloo on CPU) and map this
    rank to its device: cuda:LOCAL_RANK (LOCAL_RANK counts GPUs on this machine, RANK the
    process across all machines)."""
    if not launched():
        return Context(device=torch.device(device))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if device == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"rank {rank} has LOCAL_RANK {local_rank} but this machine shows "
                f"{torch.cuda.device_count()} GPUs; use --nproc_per_node <= the GPU count"
            )
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Context(rank, world, local_rank, dev)


def teardown(ctx: Context) -> None:
    """Wait for every rank, then leave the process group."""
    if ctx.world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def shard(items: list, ctx: Context) -> list:
    """This rank's share of a meta-batch (ranks take every world-th item)."""
    return items[ctx.rank :: ctx.world]


def all_ok(ok: bool, ctx: Context) -> bool:
    """True only if `ok` holds on every rank (so all ranks skip a step together)."""
    if ctx.world == 1:
        return ok
    flag = torch.tensor([1 if ok else 0], device=ctx.device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


class Predictor(nn.Module):
    """`ghn.predict` as a forward pass, so DistributedDataParallel can hook the GHN's gradients."""

    def __init__(self, ghn: GHN) -> None:
        super().__init__()
        self.ghn = ghn

    def forward(self, batch) -> list[dict[str, torch.Tensor]]:
        """Predicted parameters of every graph in `batch`."""
        return self.ghn.predict(batch)


def predictor(ghn: GHN, ctx: Context) -> nn.Module:
    """A callable batch -> predictions; DDP-wrapped when there are several ranks (a rank's
    architectures may not use every decoder head, hence find_unused_parameters)."""
    module = Predictor(ghn)
    if ctx.world == 1:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)
