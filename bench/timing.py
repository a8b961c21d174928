"""Synth and test-suite wall times, each variant in a fresh interpreter, interleaved in one run."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import history
from tests.support.synth import ROOT

# name -> (app kind, CDK_VALIDATION, extra args). "app" is every stack of every stage, as `cdk synth` builds it.
VARIANTS: dict[str, tuple[str, str, list[str]]] = {
    "trivial": ("trivial", "true", []),
    "trivial_no_validation": ("trivial", "false", []),
    "app": ("app", "true", []),
    "app_no_validation": ("app", "false", []),
    "app_no_validation_no_nag": ("app", "false", ["--no-nag"]),
}


def _env(**extra: str) -> dict[str, str]:
    node_bin = str(ROOT / "node_modules" / ".bin")
    return {
        **os.environ,
        "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        **extra,
    }


def synth_once(variant: str, outdir: Path) -> dict[str, Any]:
    kind, validation, extra = VARIANTS[variant]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.synth_probe", kind, str(outdir), *extra],
        cwd=ROOT,
        env=_env(CDK_VALIDATION=validation),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"synth probe {variant} failed:\n{done.stderr[-3000:]}")
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": wall, **phases}


def synth(outroot: Path, repeat: int, budget_s: float = 200) -> dict[str, Any]:
    """Median wall time per variant (round-robin order, so load drifts hit every variant alike) and ratios."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in VARIANTS}
    started = time.perf_counter()
    for round_ in range(repeat):
        if round_ and time.perf_counter() - started > budget_s * round_ / repeat:
            break  # a loaded machine: keep `make bench` inside its time budget
        order = list(VARIANTS) if round_ % 2 == 0 else list(reversed(VARIANTS))
        for name in order:
            runs[name].append(synth_once(name, outroot / f"{name}-{round_}"))
    med = {
        name: {key: statistics.median(r[key] for r in rs) for key in ("wall_s", "import_s", "build_s", "synth_s")}
        for name, rs in runs.items()
    }
    return {
        "repeat": len(runs["app"]),
        "stacks_in_app": runs["app"][0]["stacks"],
        "median": med,
        "ratio_app_to_trivial": med["app"]["wall_s"] / med["trivial"]["wall_s"],
        "ratio_app_to_trivial_no_validation": med["app_no_validation"]["wall_s"]
        / med["trivial_no_validation"]["wall_s"],
        "validation_cost_app_s": med["app"]["wall_s"] - med["app_no_validation"]["wall_s"],
        "validation_cost_trivial_s": med["trivial"]["wall_s"] - med["trivial_no_validation"]["wall_s"],
        "nag_cost_s": med["app_no_validation"]["wall_s"] - med["app_no_validation_no_nag"]["wall_s"],
        "app_outdir": str(outroot / "app-0"),
        "last_app_wall_s": runs["app"][-1]["wall_s"],
    }


_DURATION = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)", re.MULTILINE)
_SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|error|errors)")


# The template tests: every folder of a stage's infrastructure, not the handler tests under runtime/ and
# container/.
TEMPLATE_TESTS = tuple(
    [
        "tests/stage",
        "tests/shared",
        "tests/quality",
        "tests/chat",
        "tests/web",
        "tests/edge",
        "tests/deploy",
        "tests/tools/power_tune",
        "tests/test_security_properties.py",
        "tests/test_architecture_imports.py",
    ]
)
# The suite as `make test` and `make test-fast` run it (a test keeps them the same as the Makefile's).
SUITE_ARGS = ("-n", "auto", "--dist", "loadgroup")
FAST_ARGS = ("-m", "not command", "--ignore-glob=*/runtime/*", "--ignore-glob=*/container/*", *TEMPLATE_TESTS)


def _pytest(*args: str, timeout_s: int, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args],
        cwd=ROOT,
        env=_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_suite() -> dict[str, Any]:
    """Wall time of the whole suite as `make test` runs it, twice with one empty test cache: "cold" (nothing
    synthesized or linted yet, as after a change to the app) and "warm" (the cache that run left, as after
    a change to the tests only); then `make test-fast` on that warm cache. pytest's slowest steps of each."""
    cache = tempfile.mkdtemp(prefix="bench-test-cache-")
    try:
        cold, warm = (_suite_run(cache, SUITE_ARGS) for _ in range(2))
        fast = _suite_run(cache, FAST_ARGS)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return {**cold, "warm": warm, "fast": fast}


def _suite_run(cache: str, args: tuple[str, ...]) -> dict[str, Any]:
    start = time.perf_counter()
    done = _pytest(*args, "-rf", "--durations=12", timeout_s=900, env={"CDK_TEST_CACHE": cache})
    wall = time.perf_counter() - start
    counts = {kind: int(n) for n, kind in _SUMMARY.findall(done.stdout.strip().splitlines()[-1])}
    slowest = [{"seconds": float(s), "phase": phase, "test": test} for s, phase, test in _DURATION.findall(done.stdout)]
    return {
        "wall_s": wall,
        "exit_code": done.returncode,
        "counts": counts,
        "failed": re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE),
        "slowest": slowest[:8],
    }


# Every make bench run's suite ratios, newest last: a warm run's wall time moves with the host by more than the
# goal's margin (3.92-5.77x on 2026-12-07), so a goal is met only when the last runs all meet it.
SUITE_HISTORY = ROOT / "reports" / "suite-runs.json"
SUITE_HISTORY_KEEP = 20
SUITE_RUNS_SHOWN = 3
# Each ratio's name in the history and its key in a run's `tests` figures.
RATIO_KEYS = {"cold": "ratio_to_one_synth", "warm": "ratio_warm_to_one_synth", "fast": "ratio_fast_to_one_synth"}
RATIOS = tuple(RATIO_KEYS)


def suite_entry(tests: dict[str, Any], at: str, load_average_start: float) -> dict[str, Any]:
    """One run's figures for the history: its three ratios to one full synth and what they divide."""
    return {
        "at": at,
        "source": "make bench",
        **{name: tests[key] for name, key in RATIO_KEYS.items()},
        "warm_s": tests["warm"]["wall_s"],
        "one_synth_s": tests["one_synth_s"],
        "load_average_start": load_average_start,
    }


def suite_across_runs(runs: list[dict[str, Any]], count: int = SUITE_RUNS_SHOWN) -> dict[str, Any]:
    """The last `count` runs and, per ratio, their lowest and highest (the highest is the worst)."""
    return history.last_runs(runs, RATIOS, count)
