"""`bench sweep`: parse the grid, plan its jobs from the records already there, launch them
(bench.launchers.sweep) and record (and commit) what they write."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from bench.commands.cli import main
from bench.commands.options import POSITIVE_FLOAT, POSITIVE_INT, check_writable
from bench.config.manifest import add_records, check_repository, commit_folder, start_group
from bench.config.presets import Preset
from bench.launchers.sweep import LAUNCHERS, estimate, launch, plan


def configure(p) -> None:
    """`bench sweep`'s options."""
    from bench.commands.options import add_common_options, add_nproc, add_property_lens, parse_splits

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
    add_property_lens(p)
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
    from bench.commands.options import choose, chosen_view
    from bench.config.presets import get_preset
    from gnn_zoo import VARIANTS, available
    from gnn_zoo.plugins import load_entry_points, resolve_gnn
    from gnn_zoo.views import VIEWS

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
    if args.properties:
        common += ["--properties", str(Path(args.properties).resolve()), "--property-nets", str(args.property_nets)]
    for field, value in overrides.items():
        if value is not None:
            common += [f"--{field.replace('_', '-')}", str(value)]
    return common


def sweep_models(ghns: tuple[str, ...], gnns: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (GHN variant, gnn) pairs of a sweep: every variant around every gnn, and a variant
    that implies its core (mlp) once, with that core; repeats dropped."""
    from gnn_zoo import VARIANTS, resolve_variant

    pairs = [resolve_variant(g, None if VARIANTS[g].core else gnn) for g in ghns for gnn in gnns]
    return list(dict.fromkeys(pairs))


def with_checkpoints(jobs: list, preset_of: dict, dataset: str, root: Path) -> frozenset:
    """The jobs whose GHN has a checkpoint under `root` already (reused or resumed, not trained anew)."""
    from bench.harness.train import TrainSpec

    return frozenset(
        job
        for job in jobs
        if TrainSpec(job.gnn, job.backend, dataset, preset_of[job], job.seed).checkpoint(root).exists()
    )


def job_slots(args, preset: Preset) -> tuple[int, int]:
    """(jobs at once, threads per job): locally the usable CPUs shared out, one job per
    preset.job_threads threads (or one job with them all); on Slurm each job gets its --cpus."""
    from bench.launchers.threads import default_threads, usable_cpus

    if args.launcher == "slurm":
        return args.parallel or 1, args.threads or args.cpus
    if args.launcher == "debug":  # jobs run one by one in this process
        return 1, args.threads or default_threads()
    cpus = usable_cpus()
    parallel = args.parallel or (max(1, cpus // preset.job_threads) if preset.job_threads else 1)
    return parallel, args.threads or max(1, cpus // parallel)


def run_sweep(args) -> int:
    """Run `bench sweep`: plan the grid's jobs, start them, record (and commit) what they write."""
    from bench.commands.lens import property_lens
    from bench.commands.options import preset_overrides, usable_backends
    from bench.config.paths import checkpoint_root, home, results_root
    from bench.config.presets import check_dataset

    if args.seeds < 1:
        raise ValueError(f"--seeds {args.seeds}: need at least one seed")
    backends = usable_backends(args.backend)
    overrides = preset_overrides(args)
    models = sweep_presets(args, overrides)
    preset = models[0][0]
    check_dataset(preset, args.dataset)
    results = Path(args.results or results_root()).resolve()
    checkpoints = Path(args.checkpoints or checkpoint_root()).resolve()
    lens = None
    if not args.dry_run:  # the jobs would find out only at their first write
        check_writable(results, "--results" if args.results else "GHNBENCH_HOME")
        check_writable(checkpoints, "--checkpoints" if args.checkpoints else "GHNBENCH_HOME")
        lens = property_lens(args)  # every job would fail on missing labels
        if args.commit:
            top = check_repository(results)
            if lens is not None and check_repository(lens) != top:
                raise ValueError(
                    f"--commit: --properties {args.properties} is not in the git work tree of --results ({top}); "
                    "put both folders in one repository"
                )
    if args.download and not args.dry_run:  # once here, not in every job at the same time
        from bench.harness.data import load_data

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
    trained = with_checkpoints(jobs, preset_of, args.dataset, checkpoints)
    print(
        f"sweep {args.dataset}/{preset.label}: {cells} cells (model x backend x split x seed), {done} already "
        f"recorded in {results}, {len(jobs)} jobs to run, {parallel} at a time with {threads} thread(s) each"
        + estimate(preset, jobs, parallel, args.launcher, args.dataset, trained)
    )
    for job in jobs:
        print(f"  {job}")
    if not jobs or args.dry_run:
        return 0
    started = time.perf_counter()
    group = start_group(results, args.argv)
    lens_group = start_group(lens, args.argv) if lens else None
    folder = Path(args.logs or home() / "sweeps" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    finished = launch(args, jobs, common, parallel, folder, main)
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
        folders = [results]
        if lens is not None and lens_group is not None:
            name = job.property_record(args.dataset, preset_of[job].label, args.property_nets)
            add_records(lens, lens_group, [name] if (lens / name).exists() else [])
            folders.append(lens)
        if args.commit:
            commit_folder(folders, f"results: {job} ({args.dataset}/{preset_of[job].label})")
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
