"""README's code blocks run verbatim: every Python block is executed (the trained-GHN block on a
short-trained checkpoint of the name it loads), every `bench` command line of the shell blocks
is parsed by bench's own parser (flags, choices, plugin files), and every script a shell block
runs exists."""

import re
import shlex
from pathlib import Path

import pytest

from bench.commands.cli import main, parser

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


def blocks(kind: str) -> list[str]:
    """README's code blocks of `kind`."""
    return [body for lang, body in BLOCK.findall((REPO / "README.md").read_text()) if lang == kind]


def commands() -> list[list[str]]:
    """Each command of README's shell blocks (continuation lines joined, comments dropped, `&&` chains split)."""
    out = []
    for body in blocks("bash"):
        for line in body.replace("\\\n", " ").splitlines():
            for part in line.split("#")[0].split("&&"):
                if part.strip():
                    out.append(shlex.split(part))
    return out


pytestmark = pytest.mark.usefixtures("registry_as_it_was")  # plugin cores register process-wide


def test_every_bench_command_of_the_shell_blocks_parses(monkeypatch):
    monkeypatch.chdir(REPO)
    bench = [argv[argv.index(a) + 1 :] for argv in commands() for a in argv if Path(a).name == "bench"]
    assert len(bench) >= 10
    for argv in bench:
        parser(argv).parse_args(argv)  # argparse exits (a test failure) on an unknown flag or choice


def test_every_script_the_shell_blocks_run_exists():
    scripts = [
        argv[1] for argv in commands() if argv[0] in ("bash", "python", "python3") and argv[1].endswith((".sh", ".py"))
    ]
    assert scripts and all((REPO / s).exists() for s in scripts), scripts
    tox = [argv[argv.index("-e") + 1] for argv in commands() if Path(argv[0]).name == "tox"]
    envs = set(re.findall(r"^\[testenv:(\w+)\]", (REPO / "tox.ini").read_text(), re.M)) | {"py"}
    assert tox and all(set(t.split(",")) <= envs for t in tox)


def test_every_python_block_runs(tmp_path, monkeypatch):
    """The blocks in README's order, each in a fresh namespace; the trained-GHN block loads a
    checkpoint trained here for 2 steps under the name README uses."""
    monkeypatch.setenv("GHNBENCH_HOME", str(tmp_path))
    monkeypatch.chdir(REPO)
    assert main(["train", "--gnn", "gatedgnn", "--steps", "2", "--no-progress"]) == 0
    python = blocks("python")
    assert len(python) >= 3
    ran = []
    for body in python:
        namespace: dict = {"__name__": "readme"}
        exec(compile(body, "README.md", "exec"), namespace)
        ran.append(namespace)
    api = next(ns for ns in ran if "ghn" in ns and "batches" in ns)
    model, (x, _) = api["model"], api["batches"][0]
    assert x.shape[1:] == (3, 32, 32) and not model.training  # resnet18's input; calibrated, in eval mode
    assert model(x).shape == (len(x), 10)


def test_the_front_door_stays_short_and_the_user_docs_carry_no_work_log():
    """README in at most 150 lines; README, docs/ (the results log aside) and the code name no
    issue numbers: user docs state what is, the results log and CHANGELOG what happened when."""
    assert len((REPO / "README.md").read_text().splitlines()) <= 150
    user_docs = [REPO / "README.md", *(p for p in (REPO / "docs").glob("*.md") if p.name != "results-log.md")]
    code = [p for package in ("bench", "gnn_zoo", "leaderboard", "deepnets1m") for p in (REPO / package).rglob("*.py")]
    mentions = [
        f"{p.relative_to(REPO)}: {m}" for p in user_docs + code for m in re.findall(r"\b[Ii]ssues? \d+", p.read_text())
    ]
    assert not mentions, mentions
