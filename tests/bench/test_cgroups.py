"""The CPU quotas that stand for a Fargate task and a Lambda function of a given memory, and the shell that puts a
command inside its groups. Synthetic inputs only: nothing here needs root or a cgroup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import cgroups


def test_lambda_gives_one_vcpu_at_1769_mb_and_scales_linearly() -> None:
    assert cgroups.lambda_cpus(1769) == 1.0
    assert cgroups.lambda_cpus(3538) == 2.0
    assert cgroups.lambda_cpus(128) == pytest.approx(0.07236, abs=1e-5)


def test_fargate_units_are_1024_per_vcpu() -> None:
    assert cgroups.fargate_cpus(512) == 0.5
    assert cgroups.fargate_cpus(4096) == 4.0


@pytest.mark.parametrize(
    ("cpus", "period_us", "host", "quota"),
    [
        (0.5, 100_000, 2, 50_000),  # the prod web task
        (cgroups.lambda_cpus(128), 100_000, 2, 7_236),  # 128 MB: 7.2 ms of CPU per 100 ms
        (1.0, 100_000, 2, 100_000),  # 1,769 MB
        (cgroups.lambda_cpus(10_240), 100_000, 2, 200_000),  # 5.8 vCPUs: capped at the host's 2
        (0.001, 100_000, 2, 1_000),  # the kernel's floor of 1 ms
    ],
)
def test_the_cfs_quota_gives_that_many_cpus_per_period(cpus: float, period_us: int, host: int, quota: int) -> None:
    assert cgroups.cfs_quota_us(cpus, period_us, host_cpus=host) == quota


@pytest.mark.parametrize(("cpus", "period_us"), [(0, 100_000), (-1, 100_000), (1, 0)])
def test_a_quota_of_nothing_is_refused(cpus: float, period_us: int) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        cgroups.cfs_quota_us(cpus, period_us, host_cpus=2)


def test_a_command_joins_every_group_before_it_runs(tmp_path: Path) -> None:
    """The shell writes its own pid into each group, then execs the command: the command runs as that pid."""
    groups = {kind: tmp_path / f"{kind} group" for kind in ("cpu", "cpuacct", "memory")}
    for path in groups.values():
        path.mkdir()
    argv = cgroups.command_in(groups, [sys.executable, "-c", "import os; print(os.getpid())"])
    pid = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    assert {kind: (path / "cgroup.procs").read_text().strip() for kind, path in groups.items()} == dict.fromkeys(
        groups, pid
    )


def test_without_root_no_group_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups.os, "geteuid", lambda: 1000)
    with pytest.raises(cgroups.CgroupsUnavailable, match="root"), cgroups.cgroup("never"):
        pass
