"""Following a submitted Slurm job array to its end (`bench sweep --launcher slurm --wait`).

submitit learns a job's state from `sacct`, which needs Slurm's accounting database: without one
(a laptop's or a small lab's Slurm) a cancelled or killed job would look unfinished forever. So
the array is followed with `squeue`, which every Slurm has: a task is finished once it has left
the queue, and it succeeded if submitit's result file says so.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import submitit
from tqdm import tqdm

T = TypeVar("T")
GONE = "Invalid job id specified"  # squeue's answer once the whole array has left the queue
POLL_S = 5.0  # seconds between two looks at the queue


def queued(array: str) -> dict[str, str]:
    """Task id ("123_4") -> Slurm state of the tasks of `array` still in the queue."""
    out = subprocess.run(["squeue", "-h", "-r", "-j", array, "-o", "%i|%T"], capture_output=True, text=True)
    if out.returncode != 0:
        if GONE in out.stderr:
            return {}
        raise RuntimeError(f"`squeue -j {array}` failed: {out.stderr.strip() or out.returncode}")
    return dict(line.split("|", 1) for line in out.stdout.split())


def final_state(job_id: str) -> str | None:
    """The state `sacct` records for a job that left the queue (None where there is no accounting)."""
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"], capture_output=True, text=True)
    states = out.stdout.split()
    return states[0] if out.returncode == 0 and states else None


def outcome(sjob: submitit.Job) -> str | None:
    """None if `sjob` succeeded, else its error (the `bench ...: error:` line of its log if there is
    one, else the first line of the failure) and where its log is."""
    try:
        sjob.result()
    except Exception as err:  # submitit re-raises the job's failure, whatever it was
        log = Path(sjob.paths.stderr)
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        errors = [line for line in lines if line.startswith("bench ") and ": error: " in line]
        reason = errors[-1] if errors else (str(err).strip().splitlines() or [type(err).__name__])[0]
        return f"{reason} (log: {log})"
    return None


def failure(sjob: submitit.Job, last_seen: str | None) -> str | None:
    """None if `sjob` left the queue with a successful result, else why not and where its log is."""
    if Path(sjob.paths.result_pickle).exists():
        return outcome(sjob)
    state = final_state(sjob.job_id) or f"last seen {last_seen or 'queued'}"
    return (
        f"ended without a result ({state}: cancelled, out of time or memory, or its node failed) "
        f"(log: {sjob.paths.stderr})"
    )


def follow(jobs: Sequence[tuple[T, submitit.Job]], progress: bool = True) -> Iterator[tuple[T, str | None]]:
    """Yield (job, None or its failure) as each task of one submitted array leaves the queue;
    a progress bar counts them, with the running and pending tasks."""

    array = jobs[0][1].job_id.split("_")[0]
    waiting = dict(jobs)
    seen: dict[str, str] = {}
    with tqdm(total=len(jobs), desc=f"Slurm array {array}", unit="job", disable=not progress) as bar:
        while waiting:
            states = queued(array)
            seen.update(states)
            for job, sjob in list(waiting.items()):
                if sjob.job_id not in states:
                    del waiting[job]
                    bar.update()
                    yield job, failure(sjob, seen.get(sjob.job_id))
            bar.set_postfix(Counter(s.lower() for s in states.values()))
            if waiting:
                time.sleep(POLL_S)
