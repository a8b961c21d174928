"""cgroup v1 groups for the benchmarks: a CPU quota and memory limit that stand for a Fargate task or a Lambda
execution environment, and CPU weights that keep other work on a shared host from taking their share.

Fargate: a task's CPU units / 1024 are its vCPUs (Amazon ECS Developer Guide, task definition parameters, `cpu`:
"1024 CPU units = 1 vCPU"). Lambda: "Lambda allocates CPU power in proportion to the amount of memory configured
... At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per second)" (Lambda
Developer Guide, Configure Lambda function memory,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). A CFS quota of cpus x period per
period is that share, whatever else the host runs; this host cannot give more CPUs than it has.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
FARGATE_UNITS_PER_VCPU = 1024
LAMBDA_MB_PER_VCPU = 1769
WEIGHT_SHARES = 8192  # each group weighs 8 ordinary processes: it gets its share on a host shared with other work


class CgroupsUnavailable(RuntimeError):
    """This machine cannot create the groups (not root, controllers not mounted); the message says why."""


def fargate_cpus(cpu_units: int) -> float:
    return cpu_units / FARGATE_UNITS_PER_VCPU


def lambda_cpus(memory_mb: int) -> float:
    """The vCPUs Lambda gives a function of `memory_mb`, in proportion to its memory."""
    return memory_mb / LAMBDA_MB_PER_VCPU


def cfs_quota_us(cpus: float, period_us: int, host_cpus: int | None = None) -> int:
    """The CFS quota that gives `cpus` CPUs per period; capped at the host's CPUs (more cannot be reproduced)."""
    if cpus <= 0 or period_us <= 0:
        raise ValueError(f"cpus and period must be positive, got {cpus} and {period_us}")
    host = host_cpus if host_cpus is not None else os.cpu_count() or 1
    return max(1000, round(min(cpus, host) * period_us))  # the kernel refuses quotas below 1 ms


def require_root() -> None:
    if os.geteuid() != 0:
        raise CgroupsUnavailable("needs root to create cgroups (run make bench as root)")


@contextmanager
def cgroup(
    role: str, *, shares: int = WEIGHT_SHARES, cpus: float | None = None, memory_mib: int | None = None
) -> Iterator[dict[str, Path]]:
    """cgroup v1 groups: CPU weight and accounting, and with `cpus`/`memory_mib` a CFS quota and a memory limit."""
    require_root()
    kinds = ("cpu", "cpuacct") + (("memory",) if memory_mib else ())
    groups = {kind: CGROUP_ROOT / kind / f"bench-{role}-{os.getpid()}" for kind in kinds}
    if not all(path.parent.is_dir() and os.access(path.parent, os.W_OK) for path in groups.values()):
        raise CgroupsUnavailable(f"cgroup v1 controllers {', '.join(kinds)} are not mounted read-write")
    made: list[Path] = []
    try:
        for path in groups.values():
            path.mkdir()
            made.append(path)
        (groups["cpu"] / "cpu.shares").write_text(str(shares))
        if cpus:
            period = int((groups["cpu"] / "cpu.cfs_period_us").read_text())
            (groups["cpu"] / "cpu.cfs_quota_us").write_text(str(cfs_quota_us(cpus, period)))
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


def command_in(groups: dict[str, Path], argv: list[str]) -> list[str]:
    """`argv` started inside `groups` from its first instruction: a shell joins them, then execs it (no
    preexec_fn, which is unsafe in a process that runs threads, as the local stand-ins do)."""
    joins = " && ".join(f"echo $$ > {shlex.quote(str(path / 'cgroup.procs'))}" for path in groups.values())
    return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]


def cpu_seconds(groups: dict[str, Path]) -> float:
    return int((groups["cpuacct"] / "cpuacct.usage").read_text()) / 1e9


def throttled(groups: dict[str, Path]) -> dict[str, int]:
    stat = dict(line.split() for line in (groups["cpu"] / "cpu.stat").read_text().splitlines())
    return {"periods": int(stat["nr_periods"]), "throttled": int(stat["nr_throttled"])}


def memory_max_mib(groups: dict[str, Path]) -> float:
    return int((groups["memory"] / "memory.max_usage_in_bytes").read_text()) / 2**20
