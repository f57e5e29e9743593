import dataclasses
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from bench.commands.cli import main
from bench.config.manifest import read_manifest
from bench.config.presets import get_preset, job_cost
from bench.launchers.sweep import Job, estimate, plan
from tests.short_run import short_run

FAST = short_run() + ["--seeds", "1"]
REPO = Path(__file__).resolve().parents[3]
SAME = dict(steps=2, meta_batch=1, batch_size=16, hidden=16, eval_nets=2, eval_images=40, sgd_steps=1, sgd_nets=1)
LABEL = get_preset("tiny", **SAME).label  # the preset label of FAST's records


def records(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "results").glob("*.json") if p.name != "manifest.json")


def test_debug_sweep_records_every_cell_and_resumes(home, capsys):
    args = ["sweep", "--gnn", "gcn,mlp", "--split", "val,ood-wide", "--launcher", "debug", *FAST]
    assert main(args) == 0
    assert "4 cells (model x backend x split x seed), 0 already recorded" in capsys.readouterr().out
    assert records(home) == [
        f"gcn_pyg_ood-wide_digits_{LABEL}_0.json",
        f"gcn_pyg_val_digits_{LABEL}_0.json",
        f"mlp_pyg_ood-wide_digits_{LABEL}_0.json",
        f"mlp_pyg_val_digits_{LABEL}_0.json",
    ]
    # each job trained one GHN for both of its splits
    assert len(list((home / "checkpoints").glob("*.pt"))) == 2
    mtimes = {home / "results" / name: (home / "results" / name).stat().st_mtime_ns for name in records(home)}

    assert main(args) == 0  # everything is recorded: nothing runs again
    out = capsys.readouterr().out
    assert "4 already recorded in" in out and "0 jobs to run" in out
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    (home / "results" / f"mlp_pyg_val_digits_{LABEL}_0.json").write_text('{"schema": "ghnbench-rec')  # corrupt
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3 already recorded" in out and "1 jobs to run" in out and "mlp/pyg seed 0 on val\n" in out
    assert json.loads((home / "results" / f"mlp_pyg_val_digits_{LABEL}_0.json").read_text())["metrics"]["ghn"]["n"] == 2
    untouched = [p for p in mtimes if p.name != f"mlp_pyg_val_digits_{LABEL}_0.json"]
    assert all(p.stat().st_mtime_ns == mtimes[p] for p in untouched)
    # the manifest: one group per sweep that ran jobs, with its command, commit, CPU and records
    groups = read_manifest(home / "results")
    assert [len(g["records"]) for g in groups] == [4, 1]
    assert groups[1]["records"] == [f"mlp_pyg_val_digits_{LABEL}_0.json"]
    assert groups[0]["command"].startswith("bench sweep --gnn gcn,mlp") and groups[0]["cpu"] and groups[0]["started"]


def test_plan_counts_a_record_made_with_other_settings_as_not_done(home):
    assert main(["sweep", "--gnn", "mlp", "--split", "val", "--launcher", "debug", *FAST]) == 0
    same = get_preset("tiny", **SAME)
    assert plan([(same, "mlp")], ["pyg"], ["val"], 1, "digits", home / "results") == ([], 1)
    longer = get_preset("tiny", **{**SAME, "steps": 3})
    jobs, done = plan([(longer, "mlp")], ["pyg"], ["val"], 2, "digits", home / "results")
    assert done == 0 and [(j.gnn, j.seed, j.splits) for j in jobs] == [("mlp", 0, ("val",)), ("mlp", 1, ("val",))]
    # a record from before a later preset field (param_penalty), with other scheduling fields: still done
    path = next((home / "results").glob("mlp_*.json"))
    record = json.loads(path.read_text())
    del record["preset_fields"]["param_penalty"]
    record["preset_fields"]["job_minutes"] = None
    path.write_text(json.dumps(record))
    assert plan([(same, "mlp")], ["pyg"], ["val"], 1, "digits", home / "results") == ([], 1)


def test_plan_runs_the_grid_seed_by_seed(tmp_path):
    """Every model's seed 0 before any model's seed 1: a grid stopped part-way is balanced."""
    tiny = get_preset("tiny", **SAME)
    jobs, done = plan([(tiny, "mlp"), (tiny, "gcn")], ["pyg"], ["val"], 2, "digits", tmp_path)
    assert done == 0 and [(j.gnn, j.seed) for j in jobs] == [("mlp", 0), ("gcn", 0), ("mlp", 1), ("gcn", 1)]


def test_local_sweep_runs_each_job_as_a_process(home, importable, capsys):
    args = [
        "sweep",
        "--gnn",
        "mlp",
        "--split",
        "val",
        "--launcher",
        "local",
        "--parallel",
        "2",
        "--logs",
        str(home / "logs"),
        *FAST,
        "--seeds",
        "2",
    ]
    assert main(args) == 0
    assert "2 of 2 jobs finished" in capsys.readouterr().out
    assert records(home) == [f"mlp_pyg_val_digits_{LABEL}_0.json", f"mlp_pyg_val_digits_{LABEL}_1.json"]
    logs = " ".join(p.read_text() for p in (home / "logs").glob("*_log.out"))
    assert "trained GHN (mlp/pyg, 2 steps" in logs  # printed by the job processes, not by this one


@pytest.fixture
def importable(monkeypatch):
    """Job processes import ghnbench from this checkout."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


def test_failed_jobs_are_reported_with_their_log(home, importable, capsys):
    args = [
        "sweep",
        "--gnn",
        "mlp,gcn",
        "--split",
        "val",
        "--launcher",
        "local",
        "--parallel",
        "2",
        "--dataset",
        "cifar10",
        "--data-dir",
        str(home / "nowhere"),
        "--logs",
        str(home / "logs"),
        *FAST,
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("FAILED") == 2 and err.count("bench run: error: cifar10 not found") == 2
    assert "2 jobs failed" in err
    log = err.split("(log: ")[1].split(")")[0]
    assert "cifar10 not found" in Path(log).read_text()  # the job's own error, in the log named
    assert not records(home)  # no record of a failed job
    assert read_manifest(home / "results")[0]["records"] == []


def fake_slurm(bin_dir: Path) -> Path:
    """`sbatch` that keeps the script it is given and answers like Slurm, and an `srun` to find."""
    bin_dir.mkdir()
    copy = bin_dir / "submitted.sh"
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\ncp "$1" {copy}\necho "Submitted batch job 4242"\n')
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("sbatch", "srun"):
        (bin_dir / tool).chmod(stat.S_IRWXU)
    return copy


def test_slurm_sweep_submits_one_job_array(home, monkeypatch, capsys):
    script = fake_slurm(home / "bin")
    monkeypatch.setenv("PATH", f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}")
    args = [
        "sweep",
        "--gnn",
        "gcn,gat",
        "--split",
        "all",
        "--launcher",
        "slurm",
        "--device",
        "cuda",
        "--nproc",
        "2",
        "--partition",
        "gpu",
        "--parallel",
        "4",
        "--setup",
        "source ~/venv/bin/activate",
        "--logs",
        str(home / "logs"),
        *FAST,
        "--seeds",
        "3",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "submitted Slurm job array 4242 (6 jobs, at most 4 at once)" in out
    text = script.read_text()
    for line in (
        "#SBATCH --array=0-5%4",
        "#SBATCH --gpus-per-node=2",
        "#SBATCH --partition=gpu",
        "source ~/venv/bin/activate",
        f"{sys.executable} -u -m submitit.core._submit",
    ):
        assert line in text, line


def test_backend_all_needs_dgl_importable(home, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dgl", None)  # `import dgl` fails, as in the main env
    assert main(["sweep", "--backend", "all", "--launcher", "debug", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "--backend all" in err and "dgl==2.1.0" in err and "leave dgl out of --backend" in err


def test_unknown_gnn_is_named(home, capsys):
    assert main(["sweep", "--gnn", "gcn,gatv9", "--dry-run"]) == 2
    assert "unknown value gatv9; choose from gat, gatedgnn" in capsys.readouterr().err


def test_sweep_models_of_the_variants():
    from bench.commands.sweep_cmd import sweep_models

    assert sweep_models(("ghn2", "ghn1", "mlp"), ("gatedgnn", "gcn")) == [
        ("ghn2", "gatedgnn"),
        ("ghn2", "gcn"),
        ("ghn1", "gatedgnn"),
        ("ghn1", "gcn"),
        ("mlp", "mlp"),
    ]
    assert sweep_models(("mlp",), ("gat", "gcn")) == [("mlp", "mlp")]  # the variant names its core, once


def test_sweep_over_views_runs_each_core_in_the_views_it_takes(home, capsys):
    args = ["sweep", "--gnn", "gatedgnn,gcn", "--view", "undirected,default", "--split", "val", "--dry-run", *FAST]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "skipped: the gatedgnn core cannot take the 'undirected' view" in out
    assert "gcn/pyg [undirected] seed 0 on val" in out and "gcn/pyg seed 0 on val" in out
    assert "gatedgnn/pyg seed 0 on val" in out and "3 jobs to run" in out


def test_sweep_runs_five_seeds_by_default(home, capsys):
    """Five seeds: the fewest a leaderboard marks a best group with (issue 26)."""
    assert main(["sweep", "--gnn", "gcn", "--split", "val", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "5 cells (model x backend x split x seed)" in out
    assert all(f"gcn/pyg seed {s} on val" in out for s in range(5))


def test_sweep_plans_the_seeds_a_target_difference_needs_from_the_records(home, capsys):
    """With records of two models x 4 seeds whose seed scores spread by ~2 points, a 4-point
    target needs more seeds than a 10-point one; the planned count is what the sweep runs."""
    import numpy as np

    from bench.config.schema import write_record
    from tests.leaderboard.conftest import make_record

    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 4, 20)
    for gnn, effect in (("gcn", 0.0), ("gat", 3.0)):
        for seed in range(4):
            accs = 30 + effect + difficulty + rng.normal(0, 2.0) + rng.normal(0, 1.0, 20)
            write_record(home / "results", make_record(gnn=gnn, split="val", seed=seed, accs=list(accs)))
    assert main(["sweep", "--gnn", "gcn,gat", "--split", "val", "--dry-run", "--target-diff", "4"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("plan: a 4-point difference among 2 models needs"))
    needed = int(line.split("needs ")[1].split()[0])
    assert needed > 5 and f"{2 * needed} cells" in out
    assert main(["sweep", "--gnn", "gcn,gat", "--split", "val", "--dry-run", "--target-diff", "30"]) == 0
    assert "10 cells (model" in capsys.readouterr().out  # fewer needed than --seeds: the 5 asked for


def test_the_estimate_adds_training_evaluation_and_the_baselines_once_per_seed_and_split():
    preset = get_preset("tiny", job_minutes=job_cost(2.0, ("val", 1.0, 3.0), ("test", 2.0, 5.0)))
    jobs = [Job(gnn, "pyg", seed, ("val", "ood-deep")) for gnn in ("gcn", "gat") for seed in (0, 1)]
    # 4 jobs x (2 training + 1 val + 1.5 ood-deep: a split not listed counts the listed ones' mean)
    # + the baselines of 2 seeds x (3 val + 4 ood-deep), over 2 jobs at a time
    assert estimate(preset, jobs, 2, "local").startswith("; about 16 min")  # (18 + 14) / 2
    assert estimate(preset, jobs, 2, "slurm") == "" and estimate(get_preset("small"), jobs, 2, "local") == ""
    # gcn seed 0 and gcn seed 1 start together; with seed 0 first twice, both compute its baselines
    assert estimate(preset, sorted(jobs, key=lambda j: j.seed), 2, "local").startswith("; about 20 min")
    assert "no time estimate" in estimate(preset, jobs, 2, "local", "fashion-mnist")  # measured on digits only
    assert "no time estimate" in estimate(get_preset("tiny", resize=16), jobs, 2, "local")
    assert estimate(preset, jobs, 2, "local").endswith("baselines")  # no fine-tuning asked for, none missing
    reused = estimate(preset, jobs, 2, "local", trained=frozenset(jobs[:2]))  # 2 GHNs with checkpoints already
    assert reused.startswith("; about 14 min") and "training not counted for 2 of the jobs" in reused
    assert estimate(dataclasses.replace(preset, finetune=(10,)), jobs, 2, "local").endswith("not included")
    longer = get_preset(
        "tiny", steps=2000, job_minutes=job_cost(2.0, ("val", 1.0, 3.0), ("test", 2.0, 5.0), steps=1000)
    )
    scaled = estimate(longer, jobs, 2, "local")  # twice the steps it was measured at: 4 minutes of training a job
    assert scaled.startswith("; about 20 min") and "4 training a job (scaled from 2 at 1000 steps)" in scaled


def test_commit_lands_each_jobs_records_in_git(home, capsys):
    """--commit: each finished job's records and the manifest are committed into the repository
    holding --results, nothing else of the work tree; a folder outside any repository is refused
    before any work."""
    import subprocess

    repo = home / "repo"
    results = repo / "results" / "grid"
    results.mkdir(parents=True)
    for argv in (["init", "-q"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *argv], cwd=repo, check=True)
    (repo / "other.txt").write_text("not a record")
    args = [
        "sweep",
        "--gnn",
        "gcn,mlp",
        "--split",
        "val",
        "--launcher",
        "debug",
        "--results",
        str(results),
        "--commit",
        *FAST,
    ]
    assert main(args) == 0
    log = subprocess.run(
        ["git", "log", "--format=%s", "--name-only"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert log.count("results: ") == 2 and "other.txt" not in log
    assert f"results/grid/gcn_pyg_val_digits_{LABEL}_0.json" in log and "results/grid/manifest.json" in log
    assert main([*args[: -len(FAST)], "--results", str(home / "loose"), *FAST]) == 2
    assert "not inside a git work tree" in capsys.readouterr().err


def test_target_diff_plans_from_a_simulated_power_table(home, tmp_path, capsys):
    import json

    from leaderboard.simulate import Grid, PowerTable, SeedDistribution

    table = PowerTable(
        "trimmed", SeedDistribution(1.5, 0.15, 12.0), Grid(), {6: {4.0: 0.3, 5.0: 0.5}, 12: {4.0: 0.7, 5.0: 0.85}}, 100
    )
    path = tmp_path / "power.json"
    path.write_text(json.dumps(table.to_json()))
    args = [
        "sweep",
        "--gnn",
        "gcn",
        "--split",
        "val",
        "--target-diff",
        "5",
        "--power-table",
        str(path),
        "--dry-run",
        *FAST,
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "plan: a 5-point difference needs 12 seeds per model at 80% power (simulated: the trimmed" in out
    assert "12 cells" in out or "gcn/pyg seed 11 on val" in out
    path.write_text("{}")
    assert main(args) == 2
    assert "--power-table" in capsys.readouterr().err


@pytest.fixture
def quick_labels(monkeypatch):
    """Property labels computed in no time (the lens's scoring is what these tests check)."""
    import bench.harness.properties as properties

    def fake(net, data, recipe, size, device, accuracy):
        return {p: float(sum(x.numel() for x in net.parameters()) % 97) for p in properties.TRAINED}

    monkeypatch.setattr(properties, "net_labels", fake)
    monkeypatch.setattr(properties, "inference_ms", lambda net, x: 1.0 + len(list(net.modules())))


def git_repo(repo: Path) -> None:
    import subprocess

    repo.mkdir(parents=True, exist_ok=True)
    for argv in (["init", "-q"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *argv], cwd=repo, check=True)


def test_a_sweep_scores_each_ghns_property_lens_and_commits_it_with_the_records(home, quick_labels, capsys):
    """--properties DIR: each job writes its GHN's property record into DIR before evaluating, and
    --commit lands it (and DIR's manifest) in the job's commit; a rerun job keeps it."""
    import subprocess

    repo = home / "repo"
    git_repo(repo)
    results, props = repo / "results" / "grid", repo / "results" / "properties"
    lens = ["--properties", str(props), "--property-nets", "8"]
    args = ["sweep", "--gnn", "gcn,mlp", "--split", "val", "--launcher", "debug", "--results", str(results), "--commit"]
    assert main([*args, *lens, *FAST]) == 2  # no labels yet: refused before any training
    err = capsys.readouterr().err
    assert "8 of the 8 property nets have no labels" in err and "bench properties --labels-only" in err
    assert not list(home.rglob("*.pt"))
    assert main(["properties", "--labels-only", "--nets", "8", "--out", str(props), "--no-progress"]) == 0
    assert main([*args, *lens, *FAST]) == 0
    names = sorted(p.name for p in props.glob("*.json") if p.name != "manifest.json")
    assert names == [f"ghn2_gcn_pyg_digits_{LABEL}_0_n8.json", f"ghn2_mlp_pyg_digits_{LABEL}_0_n8.json"]
    assert names == sorted(Job(g, "pyg", 0, ("val",)).property_record("digits", LABEL, 8) for g in ("gcn", "mlp"))
    record = json.loads((props / names[0]).read_text())
    assert record["nets"] == 8 and record["scores"]["accuracy"]["ghn"]["svr"]["fits"] == 5 and record["cpu_seconds"] > 0
    assert read_manifest(props)[-1]["records"] == names
    log = subprocess.run(
        ["git", "log", "--format=%s", "--name-only"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    assert log.count("results: ") == 2 and f"results/properties/{names[0]}" in log
    assert "results/properties/manifest.json" in log and "results/properties/.labels/" in log  # labels ship too
    first = (props / names[0]).stat().st_mtime_ns
    (results / f"gcn_pyg_val_digits_{LABEL}_0.json").unlink()  # the job runs again, on its checkpoint
    capsys.readouterr()
    assert main([*args, *lens, *FAST]) == 0
    assert "property record of this GHN kept" in capsys.readouterr().out
    assert (props / names[0]).stat().st_mtime_ns == first


def test_commit_refuses_a_property_folder_outside_the_results_repository(home, quick_labels, capsys):
    git_repo(home / "repo")
    git_repo(home / "other")
    props = home / "other" / "properties"
    assert main(["properties", "--labels-only", "--nets", "4", "--out", str(props), "--no-progress"]) == 0
    argv = ["sweep", "--gnn", "gcn", "--split", "val", "--launcher", "debug", "--commit", *FAST]
    assert main([*argv, "--results", str(home / "repo" / "r"), "--properties", str(props), "--property-nets", "4"]) == 2
    assert "is not in the git work tree of --results" in capsys.readouterr().err
