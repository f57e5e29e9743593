"""Multi-process training on CPU (gloo): 2 ranks take the same steps as 1 process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.commands.cli import without_nproc
from bench.harness.ddp import Context, all_ok, shard

ROOT = Path(__file__).resolve().parents[3]
LR = 3e-3
TRAIN = [
    "train",
    "--gnn",
    "gcn",
    "--steps",
    "1",
    "--lr",
    str(LR),
    "--meta-batch",
    "2",
    "--batch-size",
    "16",
    "--hidden",
    "16",
    "--max-train-params",
    "2e5",
    "--no-progress",
]


def bench(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GHNBENCH_HOME": str(home),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return subprocess.run([sys.executable, "-m", "bench", *args], env=env, capture_output=True, text=True, timeout=300)


def checkpoint(home: Path) -> dict:
    (path,) = (home / "checkpoints").glob("*.pt")
    return torch.load(path, weights_only=True)


def test_two_processes_train_like_one_process(tmp_path):
    """`--nproc 2` end to end: it trains, only rank 0 reports and writes, and its weights after one
    step lie within the bound Adam's first step allows. Whether the two ranks' step IS the
    one-process step is checked exactly, in float64, by test_ddp_step_equals_the_single_process_step;
    in float32 the two summation orders round differently and Adam turns that into a step of up
    to lr on any entry whose gradient is near its eps, so only the hard bound holds on every CPU:
    Adam's first update of an entry is lr * g / (|g| + eps), of magnitude below lr, so two runs
    from the same initial weights differ by less than 2 lr after one step."""
    one = bench(tmp_path / "one", *TRAIN)
    two = bench(tmp_path / "two", *TRAIN, "--nproc", "2")
    assert one.returncode == 0, one.stderr[-2000:]
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count("trained GHN (gcn/pyg, 1 steps") == 1  # only rank 0 reports
    a, b = checkpoint(tmp_path / "one"), checkpoint(tmp_path / "two")
    assert a["train"]["step"] == b["train"]["step"] == 1
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for name, value in a["state_dict"].items():
        assert (b["state_dict"][name] - value).abs().max() < 2 * LR, name


def ddp_step(rank: int, world: int, init_file: str, out_dir: str) -> None:
    """One rank of a gloo group: its DDP-averaged gradient of the meta-loss and its weights after
    one training step, saved to out_dir."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.save(one_step(Context(rank=rank, world=world)), f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def one_step(ctx: Context) -> dict:
    """One float64 training step (the `tiny` preset's Adam, clipping and weight decay) of a GHN
    with fixed initial weights on a meta-batch of 4 architectures, this rank's share of it:
    {"grad": raw gradients, "clipped": what the optimizer saw, "before"/"after": weights}."""
    from bench.config.presets import get_preset
    from bench.harness.data import load_data
    from bench.harness.ddp import predictor
    from bench.harness.train import apply_gradients, dropout_seeds, make_optimizer, meta_loss, train_architectures
    from gnn_zoo import GHN

    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        data = load_data("digits")
        ghn = GHN("gcn", hidden=16, num_classes=data.num_classes)
        before = {k: p.detach().clone() for k, p in ghn.named_parameters()}
        x, y = next(data.train_batches(16, 0))
        specs, seeds = shard(train_architectures(0, 0, 4, 2e5), ctx), shard(dropout_seeds(0, 0, 4), ctx)
        predict = predictor(ghn, ctx)  # DDP must outlive backward (it holds the gradient hooks)
        meta_loss(ghn, predict, specs, x.double(), y, data, seeds).backward()
        grad = {k: p.grad.clone() for k, p in ghn.named_parameters() if p.grad is not None}
        preset = get_preset("tiny")
        assert apply_gradients(ghn, make_optimizer(ghn, preset), preset.grad_clip)
        clipped = {k: p.grad.clone() for k, p in ghn.named_parameters() if p.grad is not None}
        after = {k: p.detach().clone() for k, p in ghn.named_parameters()}
    finally:
        torch.set_default_dtype(torch.float32)
    return {
        "grad": grad,
        "clipped": clipped,
        "before": before,
        "after": after,
        "lr": preset.lr,
        "weight_decay": preset.weight_decay,
    }


def adam_first_step_bound(
    g1: torch.Tensor, g2: torch.Tensor, w: torch.Tensor, lr: float, weight_decay: float, eps: float = 1e-8
) -> torch.Tensor:
    """How far apart, entry by entry, Adam's first step can put weights `w` when it is given the
    gradient g1 in one run and g2 in the other. With bias correction, step 1 moves w by
    lr * h(g + wd*w), h(g) = g / (|g| + eps); h' = eps / (|g| + eps)^2, so
    |h(a) - h(b)| <= |a - b| * eps / (m + eps)^2, m the smallest |g| between a and b (0 if their signs
    differ), and never more than 2. Rounding adds at most a few units u of the last place to the
    update and to w: 16 u (|w| + lr) covers it."""
    u = torch.finfo(w.dtype).eps / 2
    a, b = g1 + weight_decay * w, g2 + weight_decay * w
    m = torch.where(a * b > 0, torch.minimum(a.abs(), b.abs()), torch.zeros_like(a))
    step_gap = ((a - b).abs() * eps / (m + eps) ** 2).clamp(max=2.0)
    return lr * step_gap + 16 * u * (w.abs() + lr)


def test_ddp_step_equals_the_single_process_step(tmp_path, monkeypatch):
    """2 gloo ranks on 2 architectures each take the step 1 process takes on all 4, in float64.
    Gradients: the two runs sum the same terms in different orders (one batch of 4 graphs vs 2+2,
    then an all-reduce); that changes an entry by at most ~n u sum|terms| (u = 1.1e-16 in float64).
    Measured, the gap is at most 2e-14 of the tensor's largest entry (float32: 6e-5, which is why
    the exact check runs in float64): a tolerance of 1e-9 of it leaves a margin of 5 orders of
    magnitude, more than any change of summation order between CPUs could take. Weights: within the
    bound Adam's first step derives from the two gradients (adam_first_step_bound)."""
    # spawned ranks unpickle ddp_step by importing this file as tests.bench.harness.test_ddp
    # (a namespace package): they get this process's sys.path, so put the checkout's root on it
    monkeypatch.syspath_prepend(str(ROOT))
    torch.multiprocessing.spawn(ddp_step, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    single = one_step(Context())
    assert single["grad"].keys() <= ranks[0]["grad"].keys()
    for name, g in single["grad"].items():
        gap = (ranks[0]["grad"][name] - g).abs().max()
        assert gap <= 1e-9 * g.abs().max(), (name, gap)
        assert torch.equal(ranks[1]["grad"][name], ranks[0]["grad"][name]), name  # all-reduced
    for name, w in single["before"].items():
        assert torch.equal(ranks[0]["before"][name], w), name  # the same initial weights
        bound = adam_first_step_bound(
            single["clipped"][name], ranks[0]["clipped"][name], w, single["lr"], single["weight_decay"]
        )
        assert ((ranks[0]["after"][name] - single["after"][name]).abs() <= bound).all(), name
        assert torch.equal(ranks[1]["after"][name], ranks[0]["after"][name]), name
        assert not torch.equal(single["after"][name], w), name  # the step moved every tensor


def test_meta_batch_must_split_evenly(tmp_path):
    out = bench(tmp_path, *TRAIN[:-1], "--meta-batch", "3", "--nproc", "2", "--no-progress")
    assert out.returncode != 0
    assert "does not split evenly over 2 processes" in out.stderr + out.stdout


def test_shard_and_single_process_agreement():
    ctx = Context(rank=1, world=3)
    assert shard(list(range(7)), ctx) == [1, 4]
    assert all_ok(True, Context()) and not all_ok(False, Context())


def test_nproc_is_not_passed_to_the_ranks():
    assert without_nproc(["run", "--nproc", "2", "--gnn", "gcn", "--nproc=4"]) == ["run", "--gnn", "gcn"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error path")
def test_cuda_rank_without_gpus_is_a_clear_error(monkeypatch):
    from bench.harness.ddp import setup

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(RuntimeError, match="shows 0 GPUs"):
        setup("cuda")


RANK_PROBE = """
import json, sys
from bench.harness.ddp import all_ok, setup, teardown
ctx = setup("cpu")
agreed = all_ok(ctx.rank != 1, ctx)  # rank 1 votes to skip: every rank must skip
print(json.dumps({"rank": ctx.rank, "world": ctx.world, "local_rank": ctx.local_rank, "main": ctx.main,
                  "agreed": agreed}))
teardown(ctx)
"""


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ranks(port: int) -> list[tuple[int, str, str]]:
    """(returncode, stdout, stderr) of RANK_PROBE run as ranks 0 and 1 of two one-GPU "machines"
    meeting at 127.0.0.1:port; ranks still running after 60 s are killed (returncode < 0)."""
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": "0",
            "WORLD_SIZE": "2",
            "LOCAL_WORLD_SIZE": "1",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", RANK_PROBE], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        results.append((p.returncode, out, err))
    return results


def test_two_machines_map_global_and_local_ranks():
    """Two "machines" with one process each, as torchrun --nnodes 2 starts them: global ranks 0
    and 1, local rank 0 on both, one gloo group, and a skip vote that reaches every rank.
    The port is only known to be free before the ranks start (another process, even rank 1's
    own connection attempts, may take it before rank 0 listens), so a failed meeting is retried
    on a fresh port, twice at most; the last failure shows both ranks' stderr."""
    for _ in range(3):
        results = start_ranks(free_port())
        if all(rc == 0 for rc, _, _ in results):
            break
    assert all(rc == 0 for rc, _, _ in results), [err[-2000:] for _, _, err in results]
    seen = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]
    assert seen == [
        {"rank": 0, "world": 2, "local_rank": 0, "main": True, "agreed": False},
        {"rank": 1, "world": 2, "local_rank": 0, "main": False, "agreed": False},
    ]


def test_cuda_device_follows_the_local_rank(monkeypatch):
    """Rank 11 of 16 (two machines of 8 GPUs) is local rank 3: it must drive cuda:3 with NCCL.
    The GPU calls are stand-ins here (no GPU); what is checked is the mapping."""
    import bench.harness.ddp as bd

    calls = {}
    monkeypatch.setenv("WORLD_SIZE", "16")
    monkeypatch.setenv("RANK", "11")
    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    monkeypatch.setattr(torch.cuda, "set_device", lambda dev: calls.setdefault("device", dev))
    monkeypatch.setattr(bd.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(bd.dist, "init_process_group", lambda backend: calls.setdefault("backend", backend))
    ctx = bd.setup("cuda")
    assert (ctx.rank, ctx.world, ctx.local_rank, ctx.main) == (11, 16, 3, False)
    assert ctx.device == torch.device("cuda", 3) == calls["device"] and calls["backend"] == "nccl"
