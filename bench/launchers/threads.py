"""How many CPU threads a run may use: the CPUs this process may run on (affinity and cgroup
quota, not the machine's core count), set for torch, with a warning when other work already
keeps them busy (a multi-threaded run beside a busy process waits on its own threads: measured
2.6x slower on 2 cores)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

CGROUP_V2 = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1 = (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))


def cgroup_cpus() -> float | None:
    """The container's CPU quota in CPUs (cgroup v2 cpu.max, else v1 cfs quota/period), None if unlimited."""
    try:
        quota, period = CGROUP_V2.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us, period_us = (int(p.read_text()) for p in CGROUP_V1)
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by the cgroup quota (at least 1)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpus()
    return max(1, min(cpus, math.floor(quota)) if quota else cpus)


def runnable_others() -> int | None:
    """Tasks runnable right now besides this one (/proc/loadavg's running count), None off Linux."""
    try:
        return max(0, int(Path("/proc/loadavg").read_text().split()[3].split("/")[0]) - 1)
    except (OSError, IndexError, ValueError):
        return None


def busy_warning(threads: int) -> str | None:
    """A warning when other processes already use CPUs this run's `threads` would need: the
    1-minute load average, unless fewer tasks are runnable right now (the average lags a minute
    behind a job that just ended); None when they fit."""
    try:
        busy = round(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None
    now = runnable_others()
    busy = busy if now is None else min(busy, now)
    cpus = usable_cpus()
    if busy + threads <= cpus:
        return None
    fit = max(1, cpus - busy)
    if threads == 1:  # one thread waits for a CPU, not on other threads of its own
        return (
            f"warning: other processes keep {min(busy, cpus)} of this machine's {cpus} usable CPUs busy; "
            f"this run's thread will share a CPU with them: expect it to run slower"
        )
    return (
        f"warning: other processes keep {min(busy, cpus)} of this machine's "
        f"{cpus} usable CPUs busy; {threads} threads would wait on each other"
        + (f": pass --threads {fit}" if fit < threads else ": expect it to run slower")
    )


def default_threads() -> int:
    """OMP_NUM_THREADS when it is set (tox sets 1), else usable_cpus()."""
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return usable_cpus()


def set_threads(threads: int | None, warn: bool = True) -> int:
    """Set torch's intra-op threads to `threads` (None: default_threads()) and return the number;
    with `warn` and no explicit `threads` (a sweep's jobs get theirs), print busy_warning once to
    stderr."""
    import torch  # the sweep's planning imports this module and needs no torch

    n = threads or default_threads()
    torch.set_num_threads(n)
    message = busy_warning(n) if warn and threads is None else None
    if message:
        print(message, file=sys.stderr)
    return n
