"""The web origin's throughput per task: the real container app under the prod task's CPU and memory limits.

Method: PostgreSQL at Aurora's version (the project's server) with TLS and SCRAM passwords (as Aurora serves it) and
the locust load generator run outside the task's cgroup; the app (`python -m web_app`, the code the image runs) runs
inside a cgroup v1 whose CPU quota is the prod task's CPU units / 1024 of one CPU and whose memory limit is its memory.
Locust (headless, FastHttpUser) offers `GET /db` (a fresh TLS connection, SCRAM login and one query per request, as
the app does) at increasing fixed rates; each step runs `step_s` seconds after its users have started. The capacity is
the highest achieved rate whose p99 latency is within the target and whose failures are below 0.1%. Part of
`make bench`; alone: `python -m bench.origin` prints the figures as JSON (needs root for the cgroups).
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.postgres import PostgresUnavailable, postgres_server
from tests.support.servers import free_port, stop_process
from tests.support.synth import ROOT
from tools import toolchain

WEB_APP = ROOT / "containers" / "web"
LOCUSTFILE = Path(__file__).with_name("locustfile_web.py")
LOCUST = ROOT / ".local" / "load" / "bin" / "locust"  # its own venv (requirements-load.txt), as make load's
CGROUP_ROOT = Path("/sys/fs/cgroup")
P99_TARGET_MS = 200.0  # a page render slower than this at p99 counts as past capacity
MAX_FAILURE_RATIO = 0.001
TASK_CPU_SHARES = 8192  # each group weighs 8 ordinary processes: app, database and load generator as own machines
USER_RPS = 5.0  # per simulated user; users = rate / USER_RPS
RATES = (20, 40, 60, 80, 100, 120, 140, 170, 200, 250, 300)  # requests/s offered, until one step fails


class OriginBenchUnavailable(RuntimeError):
    """This machine cannot run the measurement as specified (no cgroups, not root, no PostgreSQL)."""


def task_size(stage: str = "prod") -> dict[str, int]:
    from stacks.config import load_stage

    web = load_stage(stage).web
    return {"cpu_units": web.cpu, "memory_mib": web.memory_mib, "max_tasks": web.max_tasks, "min_tasks": web.min_tasks}


@contextmanager
def cgroup(
    role: str, *, shares: int, cpu_units: int | None = None, memory_mib: int | None = None
) -> Iterator[dict[str, Path]]:
    """cgroup v1 groups: CPU weight and accounting, and with `cpu_units`/`memory_mib` a Fargate task's limits.

    The task's CPU quota is cpu_units / 1024 of one CPU per CFS period (Fargate's units), its memory limit
    `memory_mib`. On a host shared with other work, `shares` weights each group like its own machine would be.
    """
    if os.geteuid() != 0:
        raise OriginBenchUnavailable("needs root to create cgroups (run make bench as root)")
    if not LOCUST.exists():
        raise OriginBenchUnavailable("locust is not installed: run `make bench` (it installs .local/load)")
    kinds = ("cpu", "cpuacct") + (("memory",) if memory_mib else ())
    groups = {kind: CGROUP_ROOT / kind / f"bench-{role}-{os.getpid()}" for kind in kinds}
    if not all(path.parent.is_dir() and os.access(path.parent, os.W_OK) for path in groups.values()):
        raise OriginBenchUnavailable(f"cgroup v1 controllers {', '.join(kinds)} are not mounted read-write")
    made: list[Path] = []
    try:
        for path in groups.values():
            path.mkdir()
            made.append(path)
        (groups["cpu"] / "cpu.shares").write_text(str(shares))
        if cpu_units:
            period = int((groups["cpu"] / "cpu.cfs_period_us").read_text())
            (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(period * cpu_units // 1024))
        if memory_mib:
            (groups["memory"] / "memory.limit_in_bytes").write_text(str(memory_mib * 1024 * 1024))
        yield groups
    finally:
        for path in reversed(made):
            for _ in range(50):  # processes leave a group a moment after they exit
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def join(groups: dict[str, Path], pid: int) -> None:
    for path in groups.values():
        (path / "cgroup.procs").write_text(str(pid))


@contextmanager
def web_app(env: dict[str, str], groups: dict[str, Path]) -> Iterator[str]:
    """`python -m web_app` inside the task's cgroups; yields its base URL; always stops it."""
    port = free_port()

    def join_groups() -> None:  # runs in the child before exec: only the app is limited
        join(groups, os.getpid())

    process = subprocess.Popen(
        [sys.executable, "-m", "web_app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=WEB_APP,
        env={**_clean_env(), **env, "PYTHONPATH": str(WEB_APP)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=join_groups,  # noqa: PLW1509 (bench runs no threads here)
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"web_app exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/db", timeout=2) as response:  # noqa: S310 (http://127.0.0.1)
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("web_app did not answer /db within 20 s") from None
                time.sleep(0.1)
        yield url
    finally:
        stop_process(process)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "AWS_"))}


def locust_step(
    url: str, rate: float, step_s: float, *, workdir: Path, groups: dict[str, Path], path: str = "/db"
) -> dict[str, Any]:
    """One fixed-rate step: locust headless for `step_s` seconds after all users run; its aggregated stats."""
    users = max(1, math.ceil(rate / USER_RPS))
    prefix = workdir / f"step-{rate:g}"
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", url]
    command += ["-u", str(users), "-r", str(users), "-t", f"{step_s + 1:g}s", "--reset-stats"]
    command += ["--csv", str(prefix), "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "2"]
    env = {**_clean_env(), "BENCH_ORIGIN_PATH": path, "BENCH_USER_RPS": str(rate / users)}
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=step_s + 60,
        check=False,
        preexec_fn=lambda: join(groups, os.getpid()),
    )
    stats_file = prefix.with_name(prefix.name + "_stats.csv")
    if not stats_file.exists():
        raise RuntimeError(f"locust wrote no stats (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    with stats_file.open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    requests, failures = int(row["Request Count"]), int(row["Failure Count"])
    return {
        "offered_rps": rate,
        "users": users,
        "achieved_rps": float(row["Requests/s"]),
        "requests": requests,
        "failures": failures,
        "failure_ratio": failures / requests if requests else 1.0,
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
        "max_ms": float(row["100%"]),
    }


def run(step_s: float = 8.0, rates: tuple[float, ...] = RATES) -> dict[str, Any]:
    size = task_size()
    result: dict[str, Any] = {
        "method": "locust headless (FastHttpUser) -> python -m web_app in a cgroup v1 of the prod task's CPU and "
        f"memory; PostgreSQL {toolchain.pinned_postgres_version()} (TLS, SCRAM) and locust outside it",
        "path": "/db",
        "task": size,
        "p99_target_ms": P99_TARGET_MS,
        "max_failure_ratio": MAX_FAILURE_RATIO,
        "step_s": step_s,
        "load_average_start": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-origin-") as work,
            cgroup("task", shares=TASK_CPU_SHARES, cpu_units=size["cpu_units"], memory_mib=size["memory_mib"]) as task,
            cgroup("database", shares=TASK_CPU_SHARES) as db_group,
            cgroup("load", shares=TASK_CPU_SHARES) as load_group,
            postgres_server(tls=True) as database,
            web_app(database.env(), task) as url,
        ):
            join(db_group, database.pid)  # backends forked from now on are in it too
            started = time.perf_counter()
            locust_step(url, rates[0], 2.0, workdir=Path(work), groups=load_group)  # warm-up, discarded
            cpu_before = _cpu_seconds(task), _cpu_seconds(db_group)
            steps = []
            for rate in rates:
                step = locust_step(url, rate, step_s, workdir=Path(work), groups=load_group)
                steps.append(step)
                if not _within(step) or step["achieved_rps"] < 0.85 * rate:
                    break
            served = max(1, sum(s["requests"] for s in steps))
            result["cpu_seconds_per_request"] = (_cpu_seconds(task) - cpu_before[0]) / served
            result["database_cpu_seconds_per_request"] = (_cpu_seconds(db_group) - cpu_before[1]) / served
            result["throttled_periods"] = _throttled(task)
            result["memory_max_mib"] = int((task["memory"] / "memory.max_usage_in_bytes").read_text()) / 2**20
            result["wall_s"] = time.perf_counter() - started
    except (OriginBenchUnavailable, PostgresUnavailable) as error:
        result["error"] = str(error)
        return result
    result["steps"] = steps
    result["rps_per_task"] = capacity_of(steps)
    result["load_average_end"] = os.getloadavg()
    return result


def capacity_of(steps: list[dict[str, Any]]) -> float:
    """The highest achieved rate among the steps within the latency target and the failure bound (0 if none)."""
    return max((s["achieved_rps"] for s in steps if _within(s)), default=0.0)


def _within(step: dict[str, Any]) -> bool:
    return bool(step["p99_ms"] <= P99_TARGET_MS and step["failure_ratio"] <= MAX_FAILURE_RATIO)


def _cpu_seconds(groups: dict[str, Path]) -> float:
    return int((groups["cpuacct"] / "cpuacct.usage").read_text()) / 1e9


def _throttled(groups: dict[str, Path]) -> dict[str, int]:
    stat = dict(line.split() for line in (groups["cpu"] / "cpu.stat").read_text().splitlines())
    return {"periods": int(stat["nr_periods"]), "throttled": int(stat["nr_throttled"])}


if __name__ == "__main__":
    print(json.dumps(run(float(sys.argv[1]) if len(sys.argv) > 1 else 8.0), indent=2))
