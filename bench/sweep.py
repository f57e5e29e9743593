"""`bench sweep`: the gnn x backend x split x seed grid as submitit jobs (a Slurm job array, local
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
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import submitit

from leaderboard.schema import RecordError, model_label, read_record, record_name

from .manifest import add_records, check_repository, commit_folder, start_group
from .options import POSITIVE_FLOAT, POSITIVE_INT, check_writable
from .presets import LATER_FIELDS, RUNTIME_FIELDS, TIMED_ON, Preset
from .slurm_wait import follow, outcome

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
    """The jobs still to run for each (preset of a GHN variant and view, gnn) model, and how many
    (model, backend, split, seed) cells are already done."""
    jobs, done = [], 0
    for preset, gnn in models:
        for backend in backends:
            for seed in range(seeds):
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


def job_slots(args, preset: Preset) -> tuple[int, int]:
    """(jobs at once, threads per job): locally the usable CPUs shared out, one job per
    preset.job_threads threads (or one job with them all); on Slurm each job gets its --cpus."""
    from .threads import default_threads, usable_cpus

    if args.launcher == "slurm":
        return args.parallel or 1, args.threads or args.cpus
    if args.launcher == "debug":  # jobs run one by one in this process
        return 1, args.threads or default_threads()
    cpus = usable_cpus()
    parallel = args.parallel or (max(1, cpus // preset.job_threads) if preset.job_threads else 1)
    return parallel, args.threads or max(1, cpus // parallel)


def estimate(preset: Preset, jobs: list[Job], parallel: int, launcher: str, dataset: str = "digits") -> str:
    """ ", about N min" from the preset's measured minutes per job (local runs on digits at its own
    size only, where they were measured; "" without them, a note for other data): each job's
    training and evaluation with shared baselines, plus computing the baselines once per (seed,
    split) (counted even where an earlier sweep left them: an upper bound), and again for each
    of the first `parallel` jobs whose seed an earlier one of them has (jobs of one seed that
    start together compute its baselines side by side)."""
    if launcher != "local" or preset.job_minutes is None or not jobs:
        return ""
    if dataset != "digits" or preset.resize:
        return f"; no time estimate: {preset.name}'s minutes were measured on digits at 8x8 only"
    train = preset.job_minutes.train
    listed = {s.split: (s.shared, s.baselines) for s in preset.job_minutes.splits}
    mean = tuple(sum(v[k] for v in listed.values()) / len(listed) for k in (0, 1))  # a split not listed

    def shared(split: str) -> float:
        return listed.get(split, mean)[0]

    def baselines(split: str) -> float:
        return listed.get(split, mean)[1]

    together = jobs[:parallel]
    minutes = (
        sum(train + sum(map(shared, job.splits)) for job in jobs)
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
        f"training a job, evaluation {sum(map(shared, listed)):.1f} a job over {len(listed)} splits"
        + (f" plus {once:.1f} once per seed for the baselines" if once else ", baselines included")
    )


def sweep_models(ghns: tuple[str, ...], gnns: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (GHN variant, gnn) pairs of a sweep: every variant around every gnn, and a variant
    that implies its core (mlp) once, with that core; repeats dropped."""
    from gnn_zoo import VARIANTS, resolve_variant

    pairs = [resolve_variant(g, None if VARIANTS[g].core else gnn) for g in ghns for gnn in gnns]
    return list(dict.fromkeys(pairs))


class CellRun(submitit.helpers.Checkpointable):
    """The callable a job runs: `bench run` on its cell. On preemption or timeout submitit
    requeues the same call, which resumes from the training checkpoint."""

    def __call__(self, argv: list[str]) -> list[str]:
        from .cli import main

        code = main(argv)
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
        ex = submitit.LocalExecutor(folder)
        ex.update_parameters(timeout_min=res.timeout_min, gpus_per_node=res.gpus)
        return ex
    if launcher != "slurm":
        raise ValueError(f"unknown launcher {launcher!r}; choose from {', '.join(LAUNCHERS)}")
    ex = submitit.SlurmExecutor(folder)
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
    ex.update_parameters(**params)
    return ex


def submit(
    ex: submitit.Executor, launcher: str, jobs: list[Job], common: list[str], parallel: int
) -> Iterator[tuple[Job, submitit.Job]]:
    """Submit every job; yields (job, submitit job) as each one finishes (local, debug) or at once
    after submission (slurm: one job array, whose results are not waited for here)."""
    if launcher == "slurm":
        yield from zip(jobs, ex.map_array(CellRun(), [j.argv(common) for j in jobs]))
        return
    if launcher == "debug":  # runs in this process when its result is asked for
        for job in jobs:
            yield job, ex.submit(CellRun(), job.argv(common))
        return
    pending, running = list(jobs), []
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            running.append((job, ex.submit(CellRun(), job.argv(common))))
        finished = [r for r in running if r[1].done()]
        for pair in finished:
            running.remove(pair)
            yield pair
        if not finished:
            time.sleep(1.0)


def configure(p) -> None:
    """`bench sweep`'s options."""
    from .options import add_common_options, add_nproc, parse_splits

    p.add_argument("--gnn", default="all", help="GNN cores: a comma list or all (default all)")
    p.add_argument(
        "--ghn",
        default="ghn2",
        help="GHN variants around the cores: a comma list of ghn2, ghn1, mlp, ghn3 (mlp and ghn3 once each: "
        "the paper's MLP, GHN-3 as published) or all (default ghn2)",
    )
    p.add_argument(
        "--view",
        default="default",
        help="graph views: a comma list of undirected, directed, virtual, "
        "sweep, none, default (each core's own, as protocol v1 has it) or all; a core is run in each "
        "listed view it can take (the others are listed as skipped)",
    )
    p.add_argument("--backend", default="pyg", help="backends: pyg, dgl, pyg,dgl or all (default pyg)")
    p.add_argument(
        "--split",
        default="all",
        type=parse_splits,
        metavar="SPLIT[,SPLIT...]|all",
        help="evaluation splits (default all)",
    )
    p.add_argument(
        "--seeds",
        type=POSITIVE_INT,
        default=5,
        help="seeds 0..N-1 of every cell (default 5: the fewest the leaderboard marks a best group with)",
    )
    p.add_argument(
        "--target-diff",
        type=POSITIVE_FLOAT,
        default=None,
        metavar="POINTS",
        help="plan the seeds from the records already in --results: print how many seeds per model "
        "find a difference of POINTS at 80%% power, and run that many (at least --seeds)",
    )
    p.add_argument(
        "--power-table",
        default=None,
        metavar="FILE",
        help="with --target-diff, plan from this simulated power table (leaderboard.simulate.PowerTable "
        "JSON: power by seeds and difference under the grid's fitted seed distribution) instead of "
        "the normal formula",
    )
    p.add_argument(
        "--launcher",
        default="local",
        choices=LAUNCHERS,
        help="slurm: one job array; local: processes on this machine (default); debug: one by one in "
        "this process, opening pdb at a failure",
    )
    p.add_argument(
        "--parallel",
        type=POSITIVE_INT,
        default=None,
        help="jobs running at once (local default: one per usable CPU for presets whose runs gain "
        "little from more threads, tiny and cpu30, else 1; Slurm: the array's %%limit, default 1)",
    )
    p.add_argument("--timeout-min", type=POSITIVE_INT, default=24 * 60, help="time limit per job in minutes")
    p.add_argument("--cpus", type=POSITIVE_INT, default=8, help="CPUs per Slurm job (default 8)")
    p.add_argument("--partition", default=None, help="Slurm partition")
    p.add_argument("--account", default=None, help="Slurm account")
    p.add_argument(
        "--setup",
        action="append",
        default=None,
        help="shell line run before each Slurm job, e.g. 'source ~/venv/bin/activate' (repeatable)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="with slurm, follow the job array to its end (squeue), then "
        "list what failed, with its log, and the command that reruns it",
    )
    p.add_argument("--logs", default=None, help="submitit folder of job logs (default $GHNBENCH_HOME/sweeps/<time>)")
    p.add_argument(
        "--commit",
        action="store_true",
        help="commit each finished job's records (and the folder's manifest) into the git repository "
        "holding --results, as they land (e.g. the repository's results/ folder)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the jobs that would run and stop")
    add_common_options(p)
    add_nproc(p)
    p.set_defaults(func=run_sweep)


def planned_seeds(
    results: Path, dataset: str, preset: str, target: float, models: int, power_table: str | None = None
) -> int:
    """The seeds the records under `results` (or the simulated `power_table`) say a `target`-point
    difference needs (printed; 0 when they cannot tell yet). Dispatches to leaderboard.plan, as
    `bench leaderboard` does."""
    from leaderboard.plan import plan_seeds, plan_seeds_simulated

    if power_table:
        needed, line = plan_seeds_simulated(power_table, target)
    else:
        needed, line = plan_seeds(results, dataset, preset, target, max(models, 2))
    print(f"plan: {line}")
    return needed or 0


def sweep_presets(args, overrides: dict) -> list[tuple[Preset, str]]:
    """The (preset, core) of each model the sweep runs: every GHN variant around every core, in
    each asked view the core can take (the others are skipped, saying why)."""
    from gnn_zoo import VARIANTS, available
    from gnn_zoo.plugins import load_entry_points, resolve_gnn
    from gnn_zoo.views import VIEWS

    from .options import choose, chosen_view
    from .presets import get_preset

    load_entry_points()
    names = ",".join(resolve_gnn(t.strip()) for t in args.gnn.split(",") if t.strip())  # file.py:Class registered
    gnns = choose(names, tuple(sorted(available())), "--gnn: unknown value")
    ghns = choose(args.ghn, tuple(VARIANTS), "--ghn: unknown value")
    views = choose(args.view, ("default", *VIEWS), "--view: unknown value")
    models = []
    for shell, gnn in sweep_models(ghns, gnns):
        for view in views:
            try:
                chosen = chosen_view(gnn, None if view == "default" else view)
            except ValueError as err:
                print(f"skipped: {err}")
                continue
            models.append((get_preset(args.preset, ghn=shell, view=chosen, **overrides), gnn))
    models = list(dict.fromkeys(models))
    if not models:
        raise ValueError(f"--view {args.view}: none of the cores can take it")
    return models


def job_arguments(args, results: Path, checkpoints: Path, overrides: dict) -> list[str]:
    """The `bench run` arguments every job shares: data, preset and its overrides, device, folders."""
    common = ["--dataset", args.dataset, "--preset", args.preset, "--device", args.device, "--results", str(results),
              "--checkpoints", str(checkpoints)]  # fmt: skip
    if args.data_dir:
        common += ["--data-dir", str(Path(args.data_dir).resolve())]
    if args.nproc > 1:
        common += ["--nproc", str(args.nproc)]
    for field, value in overrides.items():
        if value is not None:
            common += [f"--{field.replace('_', '-')}", str(value)]
    return common


def launch(args, jobs: list[Job], common: list[str], parallel: int, folder: Path) -> Iterator | None:
    """Start the jobs with args.launcher; (job, error or None) as each finishes, or None where a
    Slurm array was submitted without --wait (the user follows it)."""
    from tqdm import tqdm

    gpus = args.nproc if args.device == "cuda" else 0
    res = Resources(args.timeout_min, gpus, args.cpus, args.partition, args.account, parallel, tuple(args.setup or ()))
    ex = make_executor(args.launcher, folder, res)
    if args.launcher != "slurm":
        return tqdm(
            ((job, outcome(sjob)) for job, sjob in submit(ex, args.launcher, jobs, common, parallel)),
            total=len(jobs),
            desc="sweep jobs",
            unit="job",
            disable=args.no_progress,
        )
    submitted = list(submit(ex, "slurm", jobs, common, parallel))
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


def run_sweep(args) -> int:
    """Run `bench sweep`: plan the grid's jobs, start them, record (and commit) what they write."""
    from .options import preset_overrides, usable_backends
    from .paths import checkpoint_root, home, results_root
    from .presets import check_dataset

    if args.seeds < 1:
        raise ValueError(f"--seeds {args.seeds}: need at least one seed")
    backends = usable_backends(args.backend)
    overrides = preset_overrides(args)
    models = sweep_presets(args, overrides)
    preset = models[0][0]
    check_dataset(preset, args.dataset)
    results = Path(args.results or results_root()).resolve()
    checkpoints = Path(args.checkpoints or checkpoint_root()).resolve()
    if not args.dry_run:  # the jobs would find out only at their first write
        check_writable(results, "--results" if args.results else "GHNBENCH_HOME")
        check_writable(checkpoints, "--checkpoints" if args.checkpoints else "GHNBENCH_HOME")
        if args.commit:
            check_repository(results)
    if args.download and not args.dry_run:  # once here, not in every job at the same time
        from .data import load_data

        args.data_dir = args.data_dir or str(home() / "data")
        load_data(args.dataset, args.data_dir, download=True)
    common = job_arguments(args, results, checkpoints, overrides)
    if args.target_diff is not None:
        args.seeds = max(
            args.seeds,
            planned_seeds(
                results, args.dataset, preset.label, args.target_diff, len(models) * len(backends), args.power_table
            ),
        )
    jobs, done = plan(models, backends, args.split, args.seeds, args.dataset, results)
    labels = {(p.ghn, p.view, gnn): p for p, gnn in models}
    preset_of = {job: labels[job.ghn, job.view, job.gnn] for job in jobs}
    cells = len(models) * len(backends) * len(args.split) * args.seeds
    parallel, threads = job_slots(args, preset)
    common += ["--threads", str(threads)]
    print(
        f"sweep {args.dataset}/{preset.label}: {cells} cells (model x backend x split x seed), {done} already "
        f"recorded in {results}, {len(jobs)} jobs to run, {parallel} at a time with {threads} thread(s) each"
        + estimate(preset, jobs, parallel, args.launcher, args.dataset)
    )
    for job in jobs:
        print(f"  {job}")
    if not jobs or args.dry_run:
        return 0
    started = time.perf_counter()
    group = start_group(results, args.argv)
    folder = Path(args.logs or home() / "sweeps" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    finished = launch(args, jobs, common, parallel, folder)
    if finished is None:
        return 0
    failed = []
    for job, error in finished:
        if error:
            failed.append(job)
            print(f"FAILED {job}: {error}", file=sys.stderr)
            continue
        add_records(
            results, group, [n for n in job.record_names(args.dataset, preset_of[job].label) if (results / n).exists()]
        )
        if args.commit:
            commit_folder(results, f"results: {job} ({args.dataset}/{preset_of[job].label})")
    print(
        f"{len(jobs) - len(failed)} of {len(jobs)} jobs finished in {(time.perf_counter() - started) / 60:.1f} min; "
        f"logs in {folder}; "
        f"render with `bench leaderboard --results {results}`"
    )
    if failed:
        print(
            f"{len(failed)} jobs failed (listed above); fix the cause, then rerun only them with the same "
            f"command: bench {shlex.join(args.argv)}",
            file=sys.stderr,
        )
        return 1
    return 0
