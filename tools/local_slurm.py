#!/usr/bin/env python3
"""A one-node Slurm cluster on this machine (munged, slurmctld, slurmd as the calling user, state
and logs in one scratch folder), to try and test `bench sweep --launcher slurm` without a cluster.

    python tools/local_slurm.py up /tmp/slurm          # prints the SLURM_CONF line to export
    python tools/local_slurm.py down /tmp/slurm        # stops the daemons it started, by PID

Needs Debian's slurmctld, slurmd, slurm-client and munge (Slurm 22.05) and root (slurmd starts
jobs as their user). The configuration is tools/slurm.conf.in with this machine's host name, CPUs
and the scratch folder filled in; free ports are chosen, so a real Slurm on the machine is left
alone. Hand-written because no library brings up Slurm; tests/conftest.py uses it as a fixture.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).with_name("slurm.conf.in")
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo")
PACKAGES = "slurmctld slurmd slurm-client munge"


@dataclass(frozen=True)
class LocalSlurm:
    """A running one-node cluster: its scratch folder, configuration file, partition and the PIDs it started."""

    scratch: Path
    conf: Path
    partition: str
    pids: dict[str, int]

    @property
    def env(self) -> dict[str, str]:
        """The environment variables Slurm's clients (and submitit) need to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}


def binary(name: str) -> str | None:
    """Where a Slurm or munge program is (daemons live in /usr/sbin, which a user's PATH may lack)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def unavailable() -> str | None:
    """Why a local cluster cannot be started here (None when it can)."""
    if os.name != "posix" or os.geteuid() != 0:
        return "a local Slurm needs root (slurmd starts jobs as their user)"
    missing = [tool for tool in (*DAEMONS, *CLIENTS) if binary(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed: `apt-get install {PACKAGES}`"
    return None


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def write_config(scratch: Path, cpus: int, partition: str) -> Path:
    """Fill tools/slurm.conf.in for this host into `scratch`/slurm.conf, with the folders it names."""
    for sub in ("munge", "state", f"spool/{socket.gethostname()}", "log"):
        (scratch / sub).mkdir(parents=True, exist_ok=True)
    (scratch / "munge").chmod(0o700)
    text = TEMPLATE.read_text().format(
        host=socket.gethostname(),
        cpus=cpus,
        partition=partition,
        scratch=scratch,
        user=getpass.getuser(),
        ctld_port=free_port(),
        slurmd_port=free_port(),
    )
    conf = scratch / "slurm.conf"
    conf.write_text(text)
    return conf


def daemon(argv: list[str], log: Path) -> int:
    """Start one daemon in the foreground mode of its own session; its PID."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    return proc.pid


def wait_idle(cluster: LocalSlurm, timeout_s: float) -> None:
    """Wait until the node answers as idle, else stop the daemons and raise with the logs' tail."""
    deadline = time.monotonic() + timeout_s
    env = {**os.environ, **cluster.env}
    while time.monotonic() < deadline:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip() in ("idle", "mix", "alloc"):
            return
        time.sleep(0.5)
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
        for p in sorted((cluster.scratch / "log").glob("*.log"))
    )
    stop(cluster)
    raise RuntimeError(f"the local Slurm in {cluster.scratch} did not come up within {timeout_s:.0f} s:\n{logs}")


def start(scratch: Path, cpus: int | None = None, partition: str = "cpu", timeout_s: float = 60.0) -> LocalSlurm:
    """Bring up munged, slurmctld and slurmd with state in `scratch`; returns once the node is idle."""
    why = unavailable()
    if why:
        raise RuntimeError(why)
    scratch = Path(scratch).resolve()
    conf = write_config(scratch, cpus or os.cpu_count() or 1, partition)
    key = scratch / "munge" / "munge.key"
    if not key.exists():
        key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o600)
    log = scratch / "log"
    munge = scratch / "munge"
    pids = {
        "munged": daemon(
            [
                binary("munged"),
                "--foreground",
                "--force",
                f"--key-file={key}",
                f"--socket={munge}/munge.socket",
                f"--pid-file={munge}/munged.pid",
                f"--seed-file={munge}/munged.seed",
                f"--log-file={log}/munged.log",
            ],
            log / "munged.out",
        )
    }
    deadline = time.monotonic() + 10
    while not (munge / "munge.socket").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    pids["slurmctld"] = daemon([binary("slurmctld"), "-D", "-i", "-f", str(conf)], log / "slurmctld.out")
    pids["slurmd"] = daemon([binary("slurmd"), "-D", "-f", str(conf)], log / "slurmd.out")
    cluster = LocalSlurm(scratch, conf, partition, pids)
    (scratch / "pids.json").write_text(json.dumps({"partition": partition, "pids": pids}))
    wait_idle(cluster, timeout_s)
    return cluster


def cancel_all(cluster: LocalSlurm, timeout_s: float = 30.0) -> None:
    """Cancel every job of `cluster` and wait until its queue is empty (jobs outlive the daemons)."""
    env = {**os.environ, **cluster.env}
    subprocess.run(["scancel", "--partition", cluster.partition], env=env, capture_output=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            return
        time.sleep(0.2)


def stop(cluster: LocalSlurm, grace_s: float = 10.0) -> None:
    """Cancel the cluster's jobs, then stop the daemons `cluster` started (by PID, nothing else):
    SIGTERM, then SIGKILL after `grace_s`."""
    cancel_all(cluster)
    alive = []
    for pid in cluster.pids.values():
        try:
            os.kill(pid, signal.SIGTERM)
            alive.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
            except ChildProcessError:  # started by another process (`up`, then `down`)
                done = 0 if Path(f"/proc/{pid}").exists() else pid
            if done:
                alive.remove(pid)
        time.sleep(0.1)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def attached(scratch: Path) -> LocalSlurm:
    """The cluster an earlier `up` started in `scratch`."""
    scratch = Path(scratch).resolve()
    saved = json.loads((scratch / "pids.json").read_text())
    return LocalSlurm(scratch, scratch / "slurm.conf", saved["partition"], saved["pids"])


def main(argv: list[str] | None = None) -> int:
    """`up DIR` / `down DIR`."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("up", "down"))
    p.add_argument("scratch", type=Path, help="folder for the configuration, state and logs")
    p.add_argument("--cpus", type=int, default=None, help="CPUs the node offers (default: this machine's)")
    p.add_argument("--partition", default="cpu", help="the one partition's name (default cpu)")
    args = p.parse_args(argv)
    if args.action == "down":
        stop(attached(args.scratch))
        print(f"stopped the local Slurm in {args.scratch}")
        return 0
    try:
        cluster = start(args.scratch, args.cpus, args.partition)
    except RuntimeError as err:
        print(f"local_slurm: {err}", file=sys.stderr)
        return 1
    print(
        f"local Slurm up (partition {cluster.partition}, logs in {cluster.scratch / 'log'}); now:\n"
        f"export SLURM_CONF={cluster.conf}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
