"""The web origin's capacity per task: the real container app under the prod task's CPU and memory limits.

Method: PostgreSQL at Aurora's version (the project's server, tools/toolchain.py) with TLS and SCRAM passwords (as
Aurora serves it) and the locust load generator run outside the task's cgroup; the app (`python -m web_app`, the
code the image runs) runs inside a cgroup v1 whose CPU quota is the prod task's CPU units / 1024 of one CPU and
whose memory limit is its memory. Locust (headless, FastHttpUser) offers `GET /db` (a fresh TLS connection, SCRAM
login and one query per request, as the app does) at fixed rates.

What is measured is the task's CPU time per request (cgroup accounting), not the wall-clock rate at which
latency gives way: on a 2-core host shared with other work the wall clock moves with everything else (the
database and the load generator share the host too), while the CPU a request takes inside the task moves
little. A probe window at a low rate gives a first figure; then `windows` windows at the capacity it implies
give the median that counts. The capacity is the rate at which the task's latency target holds by queueing
theory: with S the service time of one request at the task's CPU share (CPU per request / quota), an M/M/1
queue's response time is exponential with mean S / (1 - rho), so its p99 is S ln(100) / (1 - rho); the
highest utilization rho within the p99 target, times the CPU-bound rate quota / CPU per request, is the
capacity (M/M/1 is the conservative choice: real service times vary less than exponential ones). The windows
at that rate report their measured p50/p99 beside it, as a check. Part of `make bench`; alone:
`python -m bench.origin [step_s]` prints the figures as JSON (needs root for the cgroups).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import cgroups
from bench.cgroups import CgroupsUnavailable, cgroup, join
from bench.history import append as append_run
from bench.history import stamp
from tests.support.postgres import PostgresUnavailable, postgres_server
from tests.support.servers import free_port, stop_process
from tests.support.synth import ROOT
from tools import toolchain

WEB_APP = ROOT / "web" / "container"
LOCUSTFILE = Path(__file__).with_name("locustfile_web.py")
LOCUST = ROOT / ".local" / "load" / "bin" / "locust"  # its own venv (requirements-load.txt), as make load's
P99_TARGET_MS = 200.0  # a page render slower than this at p99 counts as past capacity
P99_QUANTILE = 0.99
MAX_FAILURE_RATIO = 0.001
USER_RPS = 5.0  # per simulated user; users = rate / USER_RPS
PROBE_RPS = 20.0  # the first window's rate: well inside any task size we ship
WINDOWS = 9  # windows at the capacity rate; their median CPU per request counts (three moved 21% between runs)
HISTORY = ROOT / "reports" / "origin-runs.json"  # every run's figure, newest last (the report shows the last three)
HISTORY_KEEP = 20
RUNS_SHOWN = 3
SPREAD_GOAL = 0.25  # the last three runs' capacities within 25% of each other: max / min - 1
REFERENCE_REPEATS = 9  # the host's speed: the fastest of this many runs of a fixed workload, before and after
_REFERENCE_TEXT = " ".join(f"key{i}=value{i * 7}" for i in range(200))
_REFERENCE_PAIR = re.compile(r"(\w+)=(\w+)")


class OriginBenchUnavailable(RuntimeError):
    """This machine cannot run the measurement as specified (no locust, no PostgreSQL)."""


def task_size(stage: str = "prod") -> dict[str, int]:
    from stage.config import load_stage

    web = load_stage(stage).web
    return {"cpu_units": web.cpu, "memory_mib": web.memory_mib, "max_tasks": web.max_tasks, "min_tasks": web.min_tasks}


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
    """One fixed-rate run of locust (headless) for `step_s` seconds; its aggregated stats over the whole run, so
    that its request count is every request the task served meanwhile."""
    users = max(1, math.ceil(rate / USER_RPS))
    prefix = workdir / f"step-{rate:g}-{time.monotonic_ns()}"
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", url]
    command += ["-u", str(users), "-r", str(users), "-t", f"{step_s:g}s"]
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
    return {"offered_rps": rate, "users": users, **stats_of(row)}


def stats_of(row: dict[str, str]) -> dict[str, Any]:
    """locust's aggregated row; its percentiles are "N/A" when no request finished (then None here)."""
    requests, failures = int(row["Request Count"]), int(row["Failure Count"])

    def ms(column: str) -> float | None:
        return float(row[column]) if requests else None

    return {
        "achieved_rps": float(row["Requests/s"]),
        "requests": requests,
        "failures": failures,
        "failure_ratio": failures / requests if requests else 1.0,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "max_ms": ms("100%"),
    }


def mm1_utilization(service_s: float, target_s: float, quantile: float = P99_QUANTILE) -> float:
    """The highest utilization of an M/M/1 queue whose response-time `quantile` stays within `target_s`.

    Its response time is exponential with mean S / (1 - rho): the q-quantile is S ln(1 / (1 - q)) / (1 - rho)."""
    if service_s <= 0 or target_s <= 0 or not 0 < quantile < 1:
        raise ValueError(f"service, target and quantile out of range: {service_s}, {target_s}, {quantile}")
    return max(0.0, 1.0 - service_s * math.log(1.0 / (1.0 - quantile)) / target_s)


def capacity_from_cpu(
    cpu_s_per_request: float, quota_cpus: float, target_ms: float = P99_TARGET_MS
) -> dict[str, float]:
    """Requests/s one task holds within the p99 target, from its CPU time per request under its CPU quota."""
    if cpu_s_per_request <= 0 or quota_cpus <= 0:
        raise ValueError(f"CPU per request and quota must be positive, got {cpu_s_per_request}, {quota_cpus}")
    cpu_bound = quota_cpus / cpu_s_per_request
    service_s = cpu_s_per_request / quota_cpus
    utilization = mm1_utilization(service_s, target_ms / 1000)
    return {
        "rps_per_task": utilization * cpu_bound,
        "cpu_bound_rps_per_task": cpu_bound,
        "utilization": utilization,
        "service_ms": service_s * 1000,
    }


def _window(
    url: str, rate: float, step_s: float, *, workdir: Path, groups: dict[str, dict[str, Path]]
) -> dict[str, Any]:
    """One locust run at `rate`: its stats, and the task's and the database's CPU seconds per request."""
    before = {name: cgroups.cpu_seconds(group) for name, group in groups.items() if name != "load"}
    step = locust_step(url, rate, step_s, workdir=workdir, groups=groups["load"])
    served = step["requests"]
    if not served:
        raise RuntimeError(f"no request was served at {rate:g} req/s")
    spent = {name: cgroups.cpu_seconds(groups[name]) - seconds for name, seconds in before.items()}
    return {
        **step,
        "cpu_seconds_per_request": spent["task"] / served,
        "database_cpu_seconds_per_request": spent["database"] / served,
        "load_average": os.getloadavg()[0],
    }


def reference_workload(rounds: int = 40) -> None:
    """A fixed piece of what a request of the app costs: a SCRAM-sized PBKDF2 (4,096 rounds of HMAC-SHA256, in
    OpenSSL), JSON, a regular expression and a sort in the interpreter."""
    for i in range(rounds):
        hashlib.pbkdf2_hmac("sha256", b"password", b"salt%d" % i, 4096)
        doc = {f"k{j}": [j, str(j), j * 0.5, {"n": j}] for j in range(60)}
        json.loads(json.dumps(doc))
        dict(_REFERENCE_PAIR.findall(_REFERENCE_TEXT))
        sorted((j * 7919) % 1009 for j in range(3000))


def host_reference_cpu_s(repeats: int = REFERENCE_REPEATS) -> float:
    """This host's speed as the CPU seconds of the reference workload: the fastest of `repeats` runs (a VM's CPU
    time also counts the moments its host slows it down; the fastest run is the host's own speed)."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        reference_workload()
        times.append(time.process_time() - started)
    return min(times)


def run(step_s: float = 10.0, windows: int = WINDOWS) -> dict[str, Any]:
    size = task_size()
    quota = cgroups.fargate_cpus(size["cpu_units"])
    result: dict[str, Any] = {
        "method": "task CPU time per request (cgroup accounting) under the prod task's CPU quota; capacity = the "
        f"M/M/1 utilization whose p99 stays within {P99_TARGET_MS:g} ms x quota / CPU per request; locust "
        "headless (FastHttpUser) -> python -m web_app in a cgroup v1 of the prod task's CPU and memory; "
        f"PostgreSQL {toolchain.pinned_postgres_version()} (TLS, SCRAM) and locust outside it",
        "path": "/db",
        "task": size,
        "quota_cpus": quota,
        "p99_target_ms": P99_TARGET_MS,
        "max_failure_ratio": MAX_FAILURE_RATIO,
        "step_s": step_s,
        "probe_rps": PROBE_RPS,
        "load_average_start": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    try:
        cgroups.require_root()
        if not LOCUST.exists():
            raise OriginBenchUnavailable("locust is not installed: run `make bench` (it installs .local/load)")
        before = host_reference_cpu_s()
        measured = _measure(step_s, windows, size, quota)
        measured["host_reference_cpu_s"] = min(before, host_reference_cpu_s())
        measured["host_reference_repeats"] = 2 * REFERENCE_REPEATS
    except (CgroupsUnavailable, OriginBenchUnavailable, PostgresUnavailable) as error:
        result["error"] = str(error)
        return result
    result.update(measured)
    result["load_average_end"] = os.getloadavg()
    return result


def _measure(step_s: float, windows: int, size: dict[str, int], quota: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-origin-") as work,
        cgroup("task", cpus=quota, memory_mib=size["memory_mib"]) as task,
        cgroup("database") as db_group,
        cgroup("load") as load_group,
        postgres_server(tls=True) as database,
        web_app(database.env(), task) as url,
    ):
        join(db_group, database.pid)  # backends forked from now on are in it too
        groups = {"task": task, "database": db_group, "load": load_group}
        started = time.perf_counter()
        _warm_up(url, workdir=Path(work), groups=load_group)
        probe = _window(url, PROBE_RPS, step_s, workdir=Path(work), groups=groups)
        rate = capacity_from_cpu(probe["cpu_seconds_per_request"], quota)["rps_per_task"]
        at_rate = [_window(url, rate, step_s, workdir=Path(work), groups=groups) for _ in range(windows)]
        throttled = cgroups.throttled(task)
        memory = cgroups.memory_max_mib(task)
        wall = time.perf_counter() - started
    return summarize(probe, at_rate, quota) | {
        "throttled_periods": throttled,
        "memory_max_mib": memory,
        "wall_s": wall,
    }


def _warm_up(url: str, *, workdir: Path, groups: dict[str, Path], attempts: int = 3) -> None:
    """A short run at the probe rate, discarded; again while none of its requests finished (locust's users may
    start after a 2-second run has ended on a busy host)."""
    for _ in range(attempts):
        if locust_step(url, PROBE_RPS, 2.0, workdir=workdir, groups=groups)["requests"]:
            return
    raise RuntimeError(f"the warm-up served no request in {attempts} runs of 2 s at {PROBE_RPS:g} req/s")


def summarize(probe: dict[str, Any], windows: list[dict[str, Any]], quota: float) -> dict[str, Any]:
    """The capacity from the median CPU per request of the windows at the probe's capacity rate, with the spread
    of those windows and their measured latency beside it."""
    cpu = [w["cpu_seconds_per_request"] for w in windows]
    median = statistics.median(cpu)
    return {
        "probe": probe,
        "windows": windows,
        "cpu_seconds_per_request": median,
        "cpu_seconds_per_request_range": [min(cpu), max(cpu)],
        "database_cpu_seconds_per_request": statistics.median(w["database_cpu_seconds_per_request"] for w in windows),
        **capacity_from_cpu(median, quota),
        "checked_rps": windows[0]["offered_rps"],
        "checked_p50_ms": statistics.median(w["p50_ms"] for w in windows),
        "checked_p99_ms": statistics.median(w["p99_ms"] for w in windows),
        "checked_within_target": all(_within(w) for w in windows),
    }


def _within(step: dict[str, Any]) -> bool:
    return bool(step["p99_ms"] <= P99_TARGET_MS and step["failure_ratio"] <= MAX_FAILURE_RATIO)


def history_entry(result: dict[str, Any], source: str = "make bench") -> dict[str, Any]:
    """One run of the measurement as the history keeps it."""
    keys = ("rps_per_task", "cpu_bound_rps_per_task", "cpu_seconds_per_request", "checked_rps", "checked_p50_ms")
    return {
        "at": result.get("at", ""),
        "source": source,
        **{key: result[key] for key in keys},
        "checked_p99_ms": result["checked_p99_ms"],
        "checked_within_target": result["checked_within_target"],
        "load_average_start": result["load_average_start"][0],
        **({"host_reference_cpu_s": result["host_reference_cpu_s"]} if "host_reference_cpu_s" in result else {}),
        "database_cpu_seconds_per_request": result["database_cpu_seconds_per_request"],
    }


def record_run(entry: dict[str, Any], path: Path = HISTORY, keep: int = HISTORY_KEEP) -> list[dict[str, Any]]:
    """Append one run to the history file (the newest `keep` are kept); returns the history."""
    return append_run(path, entry, keep)


def across_runs(history: list[dict[str, Any]], count: int = RUNS_SHOWN) -> dict[str, Any]:
    """The last `count` runs, their lowest, median and highest capacity, and their spread (highest / lowest - 1).

    The runs need not share a host's speed (each session may get another machine, and one VM's speed moves with
    its neighbours): the spread is of their capacities at the newest run's speed, each run's CPU per request
    scaled by a reference measured on its host (`basis`), then the same capacity formula. The reference is the
    database's CPU per request in the same windows when every run records it: the same work per request (a TLS
    handshake, a SCRAM login, one query) under the same conditions as the task's (docs/benchmarks.md); else the
    reference workload's time before and after the windows; else none, and the spread is as measured. The
    capacity model takes the lowest figure as measured all the same."""
    runs = history[-count:]
    capacities = [run["rps_per_task"] for run in runs]
    low, high = min(capacities), max(capacities)
    basis, on_newest_host = _on_newest_host(runs)
    spread = _spread(on_newest_host or capacities)
    return {
        "runs": runs,
        "min_rps": low,
        "median_rps": statistics.median(capacities),
        "max_rps": high,
        "absolute_spread": _spread(capacities),
        "basis": basis,
        "on_newest_host_rps": on_newest_host,
        "spread": spread,
        "spread_goal": SPREAD_GOAL,
        "within_goal": len(runs) >= count and spread <= SPREAD_GOAL,
    }


def _spread(capacities: list[float]) -> float:
    """Highest / lowest - 1."""
    low = min(capacities)
    return max(capacities) / low - 1 if low else math.inf


REFERENCES = (  # (basis, the key each run records it under), the first every run records is used
    ("database", "database_cpu_seconds_per_request"),
    ("host reference", "host_reference_cpu_s"),
)


def _on_newest_host(runs: list[dict[str, Any]]) -> tuple[str | None, list[float] | None]:
    """Each run's capacity at the newest run's speed, by the first reference every run records (else None)."""
    for basis, key in REFERENCES:
        if runs and all(run.get(key) for run in runs):
            newest = runs[-1][key]
            scaled = []
            for run in runs:
                cpu = run["cpu_seconds_per_request"]
                quota = run["cpu_bound_rps_per_task"] * cpu
                scaled.append(capacity_from_cpu(cpu * newest / run[key], quota)["rps_per_task"])
            return basis, scaled
    return None, None


def main(argv: list[str]) -> None:
    """`python -m bench.origin [step_s]`: one run, recorded in the history; the run and the last three as JSON."""
    result = run(float(argv[0]) if argv else 10.0)
    if result.get("rps_per_task"):
        result["at"] = stamp()
        result["across_runs"] = across_runs(record_run(history_entry(result, "python -m bench.origin")))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
