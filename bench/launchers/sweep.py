"""The gnn x backend x split x seed grid of `bench sweep` as submitit jobs (a Slurm job array, local
processes, or in-process for debugging).

One job per (gnn, backend, seed) trains its GHN once (or resumes its checkpoint) and evaluates it
on every split of the grid that has no valid record yet, writing one record per split. Running
the same sweep again skips the finished cells, so an interrupted or partly failed sweep is
resumed by repeating the command. On Slurm, a preempted or timed-out job is requeued by submitit
and resumes from its last training checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import submitit
from tqdm import tqdm

from bench.config.presets import LATER_FIELDS, RUNTIME_FIELDS, TIMED_ON, Preset
from bench.config.schema import RecordError, model_label, property_record_name, read_record, record_name
from bench.launchers.slurm_wait import follow, outcome

LAUNCHERS = ("slurm", "local", "debug")


@dataclass(frozen=True)
class Job:
    """One sweep job: a GHN (variant, gnn, backend, seed) and the splits it still has to be evaluated on."""

    gnn: str
    backend: str
    seed: int
    splits: tuple[str, ...]
    ghn: str = "ghn2"
    view: str | None = None

    def argv(self, common: list[str]) -> list[str]:
        """The `bench run` arguments of this job (a plugin core as the file.py:Class it came from)."""
        from gnn_zoo.plugins import PLUGINS

        view = ["--view", self.view] if self.view else []
        return [
            "run",
            "--ghn",
            self.ghn,
            "--gnn",
            PLUGINS.get(self.gnn, self.gnn),
            "--backend",
            self.backend,
            *view,
            "--seed",
            str(self.seed),
            "--split",
            ",".join(self.splits),
            "--no-progress",
            *common,
        ]

    def __str__(self) -> str:
        return f"{model_label(vars(self))} seed {self.seed} on {','.join(self.splits)}"

    def record_names(self, dataset: str, label: str) -> list[str]:
        """The file names of the records this job writes (`label`: its preset's label)."""
        return [
            record_name(cell(self.gnn, self.backend, dataset, label, self.seed, self.ghn, self.view, split))
            for split in self.splits
        ]

    def property_record(self, dataset: str, label: str, nets: int) -> str:
        """The file name of the property record this job writes with --properties over `nets` nets."""
        fields = {"ghn": self.ghn, "gnn": self.gnn, "backend": self.backend, "view": self.view, "dataset": dataset}
        return property_record_name({**fields, "preset": label, "seed": self.seed, "nets": nets})


def cell(gnn: str, backend: str, dataset: str, label: str, seed: int, ghn: str, view: str | None, split: str) -> dict:
    """The identifying fields of one grid cell, as its record holds them."""
    return {
        "gnn": gnn,
        "backend": backend,
        "dataset": dataset,
        "preset": label,
        "seed": seed,
        "ghn": ghn,
        "view": view,
        "split": split,
    }


def comparable_fields(fields: dict) -> dict:
    """A preset's fields as they decide what a run computes: fields added later at their unset
    value where a record predates them (LATER_FIELDS), scheduling fields (RUNTIME_FIELDS) left out."""
    full = {**LATER_FIELDS, **fields}
    return {k: v for k, v in json.loads(json.dumps(full, default=str)).items() if k not in RUNTIME_FIELDS}


def recorded(results: Path, cell: dict, preset: Preset) -> bool:
    """Whether `results` holds a valid record of `cell` made with these preset settings (records
    from before a preset field existed count as made with its unset value)."""
    try:
        record = read_record(results / record_name(cell))
    except RecordError:
        return False
    return comparable_fields(record.get("preset_fields") or {}) == comparable_fields(dataclasses.asdict(preset))


def plan(
    models: list[tuple[Preset, str]], backends, splits, seeds: int, dataset: str, results: Path
) -> tuple[list[Job], int]:
    """The jobs still to run for each (preset of a GHN variant and view, gnn) model, seed by seed
    (every model's seed 0, then every model's seed 1, ...: a grid stopped part-way has as many
    seeds of each model, give or take one), and how many (model, backend, split, seed) cells are
    already done."""
    jobs, done = [], 0
    for seed in range(seeds):
        for preset, gnn in models:
            for backend in backends:
                todo = tuple(
                    s
                    for s in splits
                    if not recorded(
                        results, cell(gnn, backend, dataset, preset.label, seed, preset.ghn, preset.view, s), preset
                    )
                )
                done += len(splits) - len(todo)
                if todo:
                    jobs.append(Job(gnn, backend, seed, todo, preset.ghn, preset.view))
    return jobs, done


def estimate(
    preset: Preset,
    jobs: list[Job],
    parallel: int,
    launcher: str,
    dataset: str = "digits",
    trained: frozenset[Job] = frozenset(),
) -> str:
    """ ", about N min" from the preset's measured minutes per job (local runs on digits at its own
    size only, where they were measured; "" without them, a note for other data): each job's
    training (but for the `trained` jobs, whose GHN has a checkpoint already) and evaluation with
    shared baselines, plus computing the baselines once per (seed, split) (counted even where an
    earlier sweep left them: an upper bound), and again for each of the first `parallel` jobs
    whose seed an earlier one of them has (jobs of one seed that start together compute its
    baselines side by side)."""
    if launcher != "local" or preset.job_minutes is None or not jobs:
        return ""
    if dataset != "digits" or preset.resize:
        return f"; no time estimate: {preset.name}'s minutes were measured on digits at 8x8 only"
    cost = preset.job_minutes
    train = cost.train * (preset.steps / cost.steps if cost.steps else 1.0)  # training is linear in its steps
    listed = {s.split: (s.shared, s.baselines) for s in cost.splits}
    mean = tuple(sum(v[k] for v in listed.values()) / len(listed) for k in (0, 1))  # a split not listed

    def shared(split: str) -> float:
        return listed.get(split, mean)[0]

    def baselines(split: str) -> float:
        return listed.get(split, mean)[1]

    together = jobs[:parallel]
    minutes = (
        sum((0 if job in trained else train) + sum(map(shared, job.splits)) for job in jobs)
        + sum(baselines(s) for _, s in {(job.seed, s) for job in jobs for s in job.splits})
        + sum(
            baselines(s)
            for i, job in enumerate(together)
            for s in job.splits
            if job.seed in {j.seed for j in together[:i]}
        )
    )
    once = sum(map(baselines, listed))
    return (
        f"; about {minutes / parallel:.0f} min by {preset.name}'s measured minutes ({TIMED_ON}): {train:g} "
        f"training a job"
        + (f" (scaled from {cost.train:g} at {cost.steps} steps)" if cost.steps and cost.steps != preset.steps else "")
        + f", evaluation {sum(map(shared, listed)):.1f} a job over {len(listed)} splits"
        + (f" plus {once:.1f} once per seed for the baselines" if once else ", baselines included")
        + (f"; training not counted for {len(trained)} of the jobs, whose GHN has a checkpoint" if trained else "")
        + ("; its fine-tuning not included" if preset.finetune != cost.finetune else "")
    )


class CellRun(submitit.helpers.Checkpointable):
    """The callable a job runs: `bench run` on its cell, through `entry` (the `bench` command line's
    main, passed in by the command that launches). On preemption or timeout submitit requeues the
    same call, which resumes from the training checkpoint."""

    def __call__(self, entry: Callable[[list[str]], int], argv: list[str]) -> list[str]:
        code = entry(argv)
        if code != 0:
            raise RuntimeError(f"`bench {' '.join(argv)}` exited with status {code}; its error is in this job's log")
        return argv


@dataclass(frozen=True)
class Resources:
    """What each job asks of its launcher."""

    timeout_min: int
    gpus: int
    cpus: int
    partition: str | None = None
    account: str | None = None
    parallel: int = 1
    setup: tuple[str, ...] = ()


def make_executor(launcher: str, folder: Path, res: Resources) -> submitit.Executor:
    """The submitit executor of `launcher`, its logs under `folder`."""
    if launcher == "debug":
        return submitit.DebugExecutor(folder)
    if launcher == "local":
        local = submitit.LocalExecutor(folder)
        local.update_parameters(timeout_min=res.timeout_min, gpus_per_node=res.gpus)
        return local
    if launcher != "slurm":
        raise ValueError(f"unknown launcher {launcher!r}; choose from {', '.join(LAUNCHERS)}")
    slurm = submitit.SlurmExecutor(folder)
    params = {
        "time": res.timeout_min,
        "cpus_per_task": res.cpus,
        "array_parallelism": res.parallel,
        "job_name": "ghnbench-sweep",
        "ntasks_per_node": 1,
        "setup": list(res.setup),
    }
    if res.gpus:
        params["gpus_per_node"] = res.gpus
    if res.partition:
        params["partition"] = res.partition
    if res.account:
        params["account"] = res.account
    slurm.update_parameters(**params)
    return slurm


def submit(
    ex: submitit.Executor,
    launcher: str,
    jobs: list[Job],
    common: list[str],
    parallel: int,
    entry: Callable[[list[str]], int],
) -> Iterator[tuple[Job, submitit.Job]]:
    """Submit every job; yields (job, submitit job) as each one finishes (local, debug) or at once
    after submission (slurm: one job array, whose results are not waited for here)."""
    if launcher == "slurm":
        yield from zip(jobs, ex.map_array(CellRun(), [entry] * len(jobs), [j.argv(common) for j in jobs]))
        return
    if launcher == "debug":  # runs in this process when its result is asked for
        for job in jobs:
            yield job, ex.submit(CellRun(), entry, job.argv(common))
        return
    pending = list(jobs)
    running: list[tuple[Job, submitit.Job]] = []
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            running.append((job, ex.submit(CellRun(), entry, job.argv(common))))
        finished = [r for r in running if r[1].done()]
        for pair in finished:
            running.remove(pair)
            yield pair
        if not finished:
            time.sleep(1.0)


def launch(
    args, jobs: list[Job], common: list[str], parallel: int, folder: Path, entry: Callable[[list[str]], int]
) -> Iterator | None:
    """Start the jobs with args.launcher, each running `entry` on its `bench run` arguments;
    (job, error or None) as each finishes, or None where a Slurm array was submitted without
    --wait (the user follows it)."""

    gpus = args.nproc if args.device == "cuda" else 0
    res = Resources(args.timeout_min, gpus, args.cpus, args.partition, args.account, parallel, tuple(args.setup or ()))
    ex = make_executor(args.launcher, folder, res)
    if args.launcher != "slurm":
        return tqdm(
            ((job, outcome(sjob)) for job, sjob in submit(ex, args.launcher, jobs, common, parallel, entry)),
            total=len(jobs),
            desc="sweep jobs",
            unit="job",
            disable=args.no_progress,
        )
    submitted = list(submit(ex, "slurm", jobs, common, parallel, entry))
    array = submitted[0][1].job_id.split("_")[0]
    print(
        f"submitted Slurm job array {array} ({len(submitted)} jobs, at most {parallel} at once); "
        f"logs in {folder}; follow with `squeue -j {array}`"
        + (
            ""
            if args.wait
            else "; once the array is done, repeat this command to rerun whatever failed "
            "(repeating it earlier would submit running jobs twice), then `bench leaderboard`"
        )
    )
    return follow(submitted, progress=not args.no_progress) if args.wait else None
