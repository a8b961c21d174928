"""`make tune`: each Python function's memory size chosen by measurement, as AWS Lambda Power Tuning does it
on an account, but here, offline.

Each function is taken by its template resource (the synthesized prod stage) and a representative invocation
mix. For every memory size of SIZES, in rounds that interleave the sizes (so a change in the host's load hits
them alike), a fresh interpreter stands for a new execution environment: the handler tests' worker
(tests/support/lambda_worker.py), so the function runs exactly as it does there (its staged code asset, the
Lambda package set, its template's environment with references resolved to the same local stand-ins as the
handler tests': DynamoDB Local, moto, a local origin for the web service's load balancer; Lambda's own
variables; every AWS call checked against its role), with the size under test as its memory, started in a
cgroup whose CPU quota is memory / 1,769 MB of one CPU and whose memory limit is the size (bench/cgroups.py).
It imports the handler (cold: the interpreter's start and the import are Lambda's INIT), serves one invocation
cold and then `warm` invocations warm. Per size: warm p50/p99, cold start, and cost per million invocations at
the list prices of bench/prices.json, with INIT billed and a stated share of cold starts. The rule (`choose`)
picks the size; `python -m bench.tune` writes reports/tune-DATE.{json,md} and a plot.

What this machine cannot reproduce: more CPU than it has (2 cores; a size's quota is capped at them, and other
work shares them), Graviton (arm64) CPUs, the network to DynamoDB, S3 and CloudFront (local stand-ins answer
on loopback), and Lambda's own per-invocation overhead outside the handler. Durations are this host's.

Each function imports only what it has on Lambda: its bundle, the layers its template attaches and the
runtime's packages, from the folders `make setup` installs (tests/support/lambda_packages.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import cgroups
from bench.cost import load_prices
from bench.history import append as append_run
from bench.history import stamp
from tests.support.lambda_environment import DeployedFunction, deployed_function
from tests.support.lambda_worker import FunctionFailed, LambdaWorker
from tests.support.synth import ROOT, Synthesized, read_assembly

# Lambda accepts 128 MB to 10,240 MB in 1-MB increments (Lambda quotas, "Function memory allocation",
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). The grid: AWS Lambda Power
# Tuning's default values (128, 256, 512, 1024, 1536, 3008) and 1,769 MB, where a function has one vCPU, and
# 2,048 MB; above 3,538 MB a function would have more than 2 vCPUs, which this host does not have.
SIZES = (128, 256, 512, 1024, 1536, 1769, 2048, 3008)
# "According to an analysis of production Lambda workloads, INITs (cold starts) typically occur in under 1% of
# invocations" (AWS Compute Blog, "AWS Lambda standardizes billing for INIT Phase", 2025-04-29,
# https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
COLD_SHARE = 0.01
# The rule: each function has a latency budget, a warm p99 it must keep (TunedFunction.budget_ms). Of the sizes
# whose every round kept it (the worst round, not the pooled p99: a size that missed it once may miss it on AWS),
# the cheapest per million invocations, cold starts weighted by COLD_SHARE; the smaller on equal cost. (A band
# that counted costs within 3% as equal and took the larger moved chat-api to 1,536 MB in a run on a slower host,
# where the two were 2.2% apart: the band, not the measurement, made the pick move.)
# The INIT phase may take at most 10 s (same blog post); a size whose cold start takes longer fails.
INIT_LIMIT_MS = 10_000.0
# X-Ray's default sampling rule in Lambda: the first request each second and 5% of the others; here 1 in 20.
TRACE_SAMPLED_EVERY = 20
ASSEMBLY_STAGE = "prod"  # the stage whose functions carry the load the sizes are for


@dataclass(frozen=True)
class Invocation:
    """One kind of event a function gets, its share of the function's invocations, what its result must hold."""

    kind: str
    weight: float
    expect: dict[str, Any]


@dataclass(frozen=True)
class TunedFunction:
    """A function by its template resource (stack id and handler) and its representative invocations."""

    key: str
    stack: str
    handler: str
    invocations: tuple[Invocation, ...]
    warm: int  # warm invocations per execution environment
    configured_in: str  # where its memory size is set
    # The warm p99 it must keep (ms), and why that figure: the rule picks the cheapest size that keeps it.
    budget_ms: float
    budget_why: str
    edge: bool = False  # Lambda@Edge: its own prices, no layers, no environment variables


CHAT_API = TunedFunction(
    "chat-api",
    "Chat",
    "chat_api.handler.handler",
    (
        # The cost model's mix (bench/cost.py Load.api_write_share): 80% reads of a room's latest comments,
        # 20% posts with an Idempotency-Key, the client's retry-safe write.
        Invocation("read", 0.8, {"statusCode": 200}),
        Invocation("write", 0.2, {"statusCode": 201}),
    ),
    warm=200,
    configured_in="chat/config.py ChatConfig.lambda_memory_mb",
    budget_ms=50.0,
    budget_why="the chat API's objective (a design choice): a warm read or post answers in 100 ms at p99 at API "
    "Gateway, half of it for the function, the rest for API Gateway and the network",
)
CHAT_STREAM = TunedFunction(
    "chat-stream",
    "Chat",
    "chat_stream.handler.handler",
    (Invocation("batch", 1.0, {"batchItemFailures": []}),),  # 100 new comments (ChatConfig's default batch)
    warm=30,
    configured_in="chat/stream.py STREAM_MEMORY_MB",
    budget_ms=1000.0,
    budget_why="the stream's batching window (chat/stream.py STREAM_BATCHING_WINDOW_S, 1 s): a batch done "
    "within it keeps a shard's consumer at the stream's pace; no one waits on a batch",
)
PUBLISHER = TunedFunction(
    "publisher-fetch",
    "Edge",
    "edge_cache.publisher.handler",
    (Invocation("fetch", 1.0, {"result": "stored"}),),  # one 50 KB page over HTTP from the ALB, stored in S3
    warm=60,
    configured_in="edge/publisher.py FETCH_MEMORY_MB",
    budget_ms=50.0,
    budget_why="half the time per page the capacity model gives a fetch (bench/capacity.py publish_fetch_s, "
    "100 ms, the origin's measured p50 under load): the function's own time does not stretch a republish beyond "
    "what the model assumes",
)
# The origin-request Lambda@Edge function of the committed 2026-12-06 run is gone (issue 20: VPC origins take no
# origin-facing Lambda@Edge); that run's record still lists it.
FUNCTIONS = (CHAT_API, CHAT_STREAM, PUBLISHER)
# Not tuned: it runs at deploy only, so its cost is a fraction of a cent at any size, and its time is RDS Data
# API calls that this host cannot reproduce.
NOT_TUNED = {
    "database app role": "a custom resource that runs at deploy; its time is RDS Data API calls",
}


# --- the arithmetic: prices, billing, the rule -------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """What one invocation costs: per request and per GB-second of billed duration."""

    request: float
    gb_second: float
    source: str


def rates_for(function: TunedFunction, arch: str, region: str, prices: dict[str, Any]) -> Rates:
    """Lambda@Edge has its own prices; other functions by their architecture (arm64 or x86_64)."""
    table = prices["prices"]
    if function.edge:
        request, second = "lambda_edge_request_million", "lambda_edge_gb_second"
    else:
        request, second = "lambda_request_million", f"lambda_{'arm' if arch == 'arm64' else 'x86'}_gb_second"

    def price(key: str) -> float:
        return float(table[key].get(region, table[key]["us-east-1"]))

    return Rates(price(request) / 1e6, price(second), f"{table[request]['source']}; {table[second]['source']}")


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the nearest 1 ms (Lambda pricing page; Lambda@Edge since 2021-04-01)."""
    return max(1, math.ceil(duration_ms - 1e-9))


def invocation_cost(duration_ms: float, memory_mb: int, rates: Rates) -> float:
    return rates.request + billed_ms(duration_ms) / 1000 * memory_mb / 1024 * rates.gb_second


def weighted_cost_per_million(
    warm_ms: list[float], cold_ms: list[float], memory_mb: int, rates: Rates
) -> dict[str, float]:
    """USD per million invocations: warm, cold (INIT billed with the first invocation, since 2025-08-01), and the
    mix with COLD_SHARE cold starts."""
    warm = statistics.fmean(invocation_cost(ms, memory_mb, rates) for ms in warm_ms) * 1e6
    cold = statistics.fmean(invocation_cost(ms, memory_mb, rates) for ms in cold_ms) * 1e6
    return {"warm": warm, "cold": cold, "weighted": (1 - COLD_SHARE) * warm + COLD_SHARE * cold}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def choose(rows: list[dict[str, Any]], budget_ms: float) -> dict[str, Any]:
    """Of the sizes that worked and kept the budget in every round (worst round's warm p99), the cheapest
    (weighted cost per million); the smaller on equal cost."""
    working = [row for row in rows if row["ok"]]
    if not working:
        return {"memory_mb": None, "reason": "no size served every invocation"}
    within = [row for row in working if row["warm_p99_range_ms"][1] <= budget_ms]
    if not within:
        return {"memory_mb": None, "reason": f"no size kept its warm p99 within {budget_ms:g} ms in every round"}
    best = min(within, key=lambda row: (row["cost_per_million"]["weighted"], row["memory_mb"]))
    sizes = ", ".join(str(row["memory_mb"]) for row in within)
    return {
        "memory_mb": best["memory_mb"],
        "rule": "budget",
        "limit_ms": budget_ms,
        "eligible": [row["memory_mb"] for row in within],
        "reason": f"the cheapest ({best['cost_per_million']['weighted']:.3f} USD per million) of the sizes whose "
        f"warm p99 kept the budget of {budget_ms:g} ms in every round ({sizes} MB)",
    }


def plan_kinds(invocations: tuple[Invocation, ...], warm: int) -> list[str]:
    """The cold invocation (the heaviest-weighted kind), then `warm` kinds interleaved in their weights' proportion
    (smooth weighted round robin, so every window of the sequence holds the mix)."""
    total = sum(i.weight for i in invocations)
    credit = {i.kind: 0.0 for i in invocations}
    kinds = [max(invocations, key=lambda i: i.weight).kind]
    for _ in range(warm):
        for i in invocations:
            credit[i.kind] += i.weight
        chosen = max(credit, key=lambda k: credit[k])
        credit[chosen] -= total
        kinds.append(chosen)
    return kinds


def summarize(environments: list[dict[str, Any]], memory_mb: int, rates: Rates, timeout_s: float) -> dict[str, Any]:
    """One size's row from its execution environments (each: a cold start, then warm invocations)."""
    failed = [e for e in environments if e.get("error")]
    row: dict[str, Any] = {"memory_mb": memory_mb, "cpus": cgroups.lambda_cpus(memory_mb), "runs": len(environments)}
    if failed:
        return {**row, "ok": False, "error": failed[0]["error"]}
    warm = [inv for e in environments for inv in e["warm"]]
    cold = [e["init_ms"] + e["cold_invoke_ms"] for e in environments]
    per_run_p99 = [percentile([inv["ms"] for inv in e["warm"]], 0.99) for e in environments]
    kinds = sorted({inv["type"] for inv in warm})
    slowest = max(*(inv["ms"] for inv in warm), *(e["cold_invoke_ms"] for e in environments))
    too_slow = [
        reason
        for reason, bad in (
            (f"INIT over {INIT_LIMIT_MS / 1000:g} s", max(e["init_ms"] for e in environments) > INIT_LIMIT_MS),
            (f"an invocation over the {timeout_s:g} s timeout", slowest > timeout_s * 1000),
            # What Lambda counts as the function's memory is the environment's; its interpreter's peak
            # resident set is the part this host can see. Over the size, Lambda stops the function.
            ("resident memory over the size", max(e["max_rss_mib"] for e in environments) > memory_mb),
            ("ERROR lines in its log", sum(e["error_lines"] for e in environments) > 0),
        )
        if bad
    ]
    return {
        **row,
        "ok": not too_slow,
        "error": "; ".join(too_slow) or None,
        "warm_p50_ms": percentile([inv["ms"] for inv in warm], 0.5),
        "warm_p99_ms": percentile([inv["ms"] for inv in warm], 0.99),
        "warm_p99_range_ms": [min(per_run_p99), max(per_run_p99)],
        "warm_cpu_ms": statistics.median(inv["cpu_ms"] for inv in warm),
        "by_kind": {
            k: {
                "p50_ms": percentile([i["ms"] for i in warm if i["type"] == k], 0.5),
                "p99_ms": percentile([i["ms"] for i in warm if i["type"] == k], 0.99),
            }
            for k in kinds
        },
        "cold_ms": statistics.median(cold),
        "cold_range_ms": [min(cold), max(cold)],
        "init_ms": statistics.median(e["init_ms"] for e in environments),
        "max_rss_mib": max(e["max_rss_mib"] for e in environments),
        "cost_per_million": weighted_cost_per_million([i["ms"] for i in warm], cold, memory_mb, rates),
        "error_log_lines": sum(e["error_lines"] for e in environments),
    }


# --- running the environments --------------------------------------------------------------------------------


def trace_header(index: int) -> str:
    sampled = 1 if index % TRACE_SAMPLED_EVERY == 0 else 0
    return f"Root=1-5759e988-bd862e3fe1be46a9{index:08x};Parent=53995c3f42cd8ad8;Sampled={sampled}"


def matches(result: object, expect: object) -> bool:
    """`expect` is a subset of `result`; the string "*" stands for any value that is present."""
    if expect == "*":
        return result is not None
    if isinstance(expect, dict):
        return isinstance(result, dict) and all(k in result and matches(result[k], v) for k, v in expect.items())
    return result == expect


def environment_worker(
    deployed: DeployedFunction, backend: Any, *, memory_mb: int, group: dict[str, Path] | None
) -> LambdaWorker:
    """One execution environment of `deployed` at `memory_mb`, as the handler tests run it, in `group`'s cgroup."""
    return LambdaWorker(
        deployed,
        backend.resolver,
        backend.endpoints,
        memory_mb=memory_mb,
        launch=(lambda argv: cgroups.command_in(group, argv)) if group else None,
        fresh=True,  # its INIT, import included, is what the size is measured on
    )


def run_environment(
    function: TunedFunction, deployed: DeployedFunction, backend: Any, steps: list[dict[str, Any]], **where: Any
) -> dict[str, Any]:
    """One execution environment: a fresh interpreter (in the size's cgroup), cold start then warm invocations.
    A failed invocation, a call its role does not allow or an interpreter the cgroup stopped fail the environment."""
    expect = {i.kind: i.expect for i in function.invocations}
    worker = environment_worker(deployed, backend, **where)
    try:
        with closing(worker):
            worker.start()
            invocations = [worker.invoke(s["event"], trace=s["trace"], allow_error_logs=True) for s in steps]
            usage = worker.usage()
    except FunctionFailed as error:
        killed = worker.exit_code == -9
        return {"error": "killed: out of memory" if killed else str(error)[:600]}
    wrong = [
        (s["type"], i.result)
        for s, i in zip(steps, invocations, strict=True)
        if not matches(i.result, expect[s["type"]])
    ]
    if wrong:
        return {
            "error": f"{len(wrong)} invocation(s) answered otherwise, first: {wrong[0][0]}: {repr(wrong[0][1])[:300]}"
        }
    init = worker.init
    assert init is not None
    return {
        "init_ms": worker.init_wall_ms,
        "import_ms": init.duration_ms,
        "cold_invoke_ms": invocations[0].duration_ms,
        "warm": [
            {"type": s["type"], "ms": i.duration_ms, "cpu_ms": i.cpu_ms}
            for s, i in zip(steps[1:], invocations[1:], strict=True)
        ],
        "max_rss_mib": usage["max_rss_mib"],
        "error_lines": sum(len(i.error_lines()) for i in [init, *invocations]),
    }


def tune_function(
    function: TunedFunction,
    synth: Synthesized,
    backend: Any,
    *,
    rounds: int,
    groups: dict[int, dict[str, Path]],
    prices: dict[str, Any],
    sizes: tuple[int, ...] = SIZES,
) -> dict[str, Any]:
    """Every size, `rounds` fresh environments each, sizes interleaved within a round."""
    deployed = deployed_function(synth, f"{ASSEMBLY_STAGE}/{function.stack}", function.handler)
    props = deployed.properties
    arch = (props.get("Architectures") or ["x86_64"])[0]
    rates = rates_for(function, arch, deployed.region, prices)
    kinds = plan_kinds(function.invocations, function.warm)
    runs: dict[int, list[dict[str, Any]]] = {size: [] for size in sizes}
    for _ in range(rounds):
        for size in sizes:
            steps = [
                {"type": kind, "event": backend.event(kind), "trace": trace_header(i)} for i, kind in enumerate(kinds)
            ]
            runs[size].append(
                run_environment(function, deployed, backend, steps, memory_mb=size, group=groups.get(size))
            )
    rows = [summarize(runs[size], size, rates, float(props.get("Timeout", 3))) for size in sizes]
    return {
        "key": function.key,
        "logical_id": deployed.logical_id,
        "handler": function.handler,
        "architecture": arch,
        "configured_mb": int(props.get("MemorySize", 128)),
        "configured_in": function.configured_in,
        "timeout_s": props.get("Timeout", 3),
        "invocations": [asdict(i) for i in function.invocations],
        "warm_per_environment": function.warm,
        "rates": asdict(rates),
        "budget_ms": function.budget_ms,
        "budget_why": function.budget_why,
        "rows": rows,
        "choice": choose(rows, function.budget_ms),
        # Each environment's cold start, and its warm invocations in brief (the rows hold their percentiles).
        "environments": {size: [_brief(e) for e in runs[size]] for size in sizes},
    }


def _brief(environment: dict[str, Any]) -> dict[str, Any]:
    if environment.get("error"):
        return environment
    warm = [inv["ms"] for inv in environment["warm"]]
    return {
        **{k: v for k, v in environment.items() if k != "warm"},
        "warm_count": len(warm),
        "warm_p50_ms": percentile(warm, 0.5),
        "warm_p99_ms": percentile(warm, 0.99),
    }


def run(
    assembly: Path,
    rounds: int = 3,
    functions: tuple[TunedFunction, ...] = FUNCTIONS,
    outdir: Path | None = None,
    plot_name: str = "tune-{date}.png",
    *,
    sizes: tuple[int, ...] = SIZES,
) -> dict[str, Any]:
    """Tune each function at `sizes`; the report's figures (and a plot in `outdir` when given)."""
    from bench.tune_backends import backend_for

    started = time.perf_counter()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log, a line per stand-in call
    prices = load_prices()
    result = _header(rounds, prices, sizes)
    synth = read_assembly(assembly)
    try:
        with ExitStack() as stack:
            groups = {
                size: stack.enter_context(
                    cgroups.cgroup(f"lambda-{size}", cpus=cgroups.lambda_cpus(size), memory_mib=size)
                )
                for size in sizes
            }
            backends_group = stack.enter_context(cgroups.cgroup("tune-backends"))
            stack.enter_context(_inside(backends_group))  # local stand-ins get the weight of a machine of their own
            for function in functions:
                print(f"tune: {function.key} ...", file=sys.stderr, flush=True)
                with backend_for(function, synth, f"{ASSEMBLY_STAGE}/{function.stack}") as backend:
                    result["functions"][function.key] = tune_function(
                        function, synth, backend, rounds=rounds, groups=groups, prices=prices, sizes=sizes
                    )
    except cgroups.CgroupsUnavailable as error:
        result["error"] = str(error)
        return result
    result["load_average_end"] = os.getloadavg()
    result["wall_s"] = time.perf_counter() - started
    if outdir is not None:
        from bench import plots

        name = plot_name.format(date=dt.datetime.now(dt.UTC).date().isoformat())
        plots.memory_tuning(result, outdir / name)
        result["plot"] = name
    return result


def _header(rounds: int, prices: dict[str, Any], sizes: tuple[int, ...]) -> dict[str, Any]:
    return {
        "stage": ASSEMBLY_STAGE,
        "sizes": list(sizes),
        "rounds": rounds,
        "cold_share": COLD_SHARE,
        "host_cpus": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "not_tuned": NOT_TUNED,
        "prices_as_of": prices["as_of"],
        "functions": {},
    }


@contextmanager
def _inside(groups: dict[str, Path]) -> Iterator[None]:
    """This process (and what it starts from now on) in `groups`; back in the root groups on exit."""
    cgroups.join(groups, os.getpid())
    try:
        yield
    finally:
        for path in groups.values():
            (path.parent / "cgroup.procs").write_text(str(os.getpid()))


# --- the rule across runs ------------------------------------------------------------------------------------

HISTORY = ROOT / "reports" / "memory-runs.json"  # every full run's rows in brief, newest last
HISTORY_KEEP = 20
RUNS_SHOWN = 3  # a pick is the measured choice when the last three full runs agree on it


def history_entry(result: dict[str, Any], source: str) -> dict[str, Any]:
    """One full run as the history keeps it: what the rule reads of each size (no samples)."""
    keys = ("memory_mb", "ok", "warm_p99_ms", "warm_p99_range_ms", "cost_per_million")
    return {
        "at": stamp(),
        "source": source,
        "load_average_start": result["load_average_start"][0],
        "load_average_end": result.get("load_average_end", [math.nan])[0],
        "functions": {
            key: {"rows": [{k: row.get(k) for k in keys} for row in function["rows"]]}
            for key, function in result["functions"].items()
        },
    }


def across_runs(history: list[dict[str, Any]], count: int = RUNS_SHOWN) -> dict[str, Any]:
    """Today's rule (and budgets) on each of the last `count` runs: each function's pick per run, and whether the
    runs agree (a pick that moves between runs is noise, not a measured choice)."""
    runs = history[-count:]
    picks = {f.key: [_pick(run, f) for run in runs] for f in FUNCTIONS}
    agreed = {key: sizes[0] if len(set(sizes)) == 1 else None for key, sizes in picks.items()}
    return {
        "runs": [{k: run[k] for k in ("at", "source", "load_average_start", "load_average_end")} for run in runs],
        "picks": picks,
        "agreed": agreed,
        "stable": len(runs) >= count and all(size is not None for size in agreed.values()),
    }


def _pick(run: dict[str, Any], function: TunedFunction) -> int | None:
    """Today's rule on one recorded run's figures of `function` (None: the run did not tune it)."""
    found = run["functions"].get(function.key)
    return int(choose(found["rows"], function.budget_ms)["memory_mb"]) if found else None


def last_agreed(history: list[dict[str, Any]], count: int = RUNS_SHOWN) -> dict[str, int]:
    """Each function's pick in the newest `count` consecutive runs that agree on it: what its configuration keeps
    while newer runs disagree. A pick moves only when `count` runs in a row move it, and one function's noise holds
    no other function's move. A function no `count` runs in a row agree on is left out."""
    agreed: dict[str, int] = {}
    for function in FUNCTIONS:
        picks = [_pick(run, function) for run in history]
        for end in range(len(picks), count - 1, -1):
            window = set(picks[end - count : end])
            if len(window) == 1 and None not in window:
                agreed[function.key] = int(window.pop())  # type: ignore[arg-type]
                break
    return agreed


def record(result: dict[str, Any], source: str, path: Path = HISTORY) -> None:
    """A full run into the history; the picks of the last runs beside its own figures, and beside each function
    the pick its configuration keeps (`mark_decided`)."""
    if not result.get("error"):
        history = append_run(path, history_entry(result, source), HISTORY_KEEP)
        result["across_runs"] = across_runs(history)
        mark_decided(result, last_agreed(history))


def mark_decided(tuned: dict[str, Any], agreed: dict[str, int]) -> None:
    """Beside each function, the pick the newest three runs in a row agree on (what its stack is configured at)."""
    if tuned.get("error"):
        return
    tuned["decided_in"] = HISTORY.name
    for key, function in tuned["functions"].items():
        if key in agreed:
            function["decided_mb"] = agreed[key]


def rechoose(result: dict[str, Any], assembly: Path) -> dict[str, Any]:
    """A report's measurements with today's rules and configured sizes (`--rechoose`): choices and `configured_mb`
    again, nothing measured again."""
    synth = read_assembly(assembly)
    for function in FUNCTIONS:
        found = result["functions"].get(function.key)
        if found:
            props = deployed_function(synth, f"{ASSEMBLY_STAGE}/{function.stack}", function.handler).properties
            found.update(budget_ms=function.budget_ms, budget_why=function.budget_why)
            found["configured_mb"] = int(props.get("MemorySize", 128))
            found["configured_in"] = function.configured_in
            found["choice"] = choose(found["rows"], function.budget_ms)
    return result


def main(argv: list[str] | None = None) -> None:
    import argparse

    from bench.tune_report import render_tune

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="the synthesized app (make synth)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("TUNE_ROUNDS", "3")))
    parser.add_argument("--only", nargs="*", default=None, help="function keys to tune (default: all)")
    parser.add_argument(
        "--sizes", nargs="*", type=int, help="a quick check at these sizes only: its report goes to --out, not reports/"
    )
    parser.add_argument(
        "--out", type=Path, help="where the report goes (default: reports/, or .cache/tune with --sizes)"
    )
    parser.add_argument("--rechoose", type=Path, help="a tune-*.json: apply today's rules and configuration to it")
    args = parser.parse_args(argv)
    if args.rechoose:
        from bench import plots

        result = rechoose(json.loads(args.rechoose.read_text()), args.cdk_out)
        if result.get("plot"):
            plots.memory_tuning(result, args.rechoose.with_name(result["plot"]))
        args.rechoose.write_text(json.dumps(result, indent=2, default=str) + "\n")
        args.rechoose.with_suffix(".md").write_text(render_tune(result))
        return
    chosen = tuple(f for f in FUNCTIONS if not args.only or f.key in args.only)
    unknown = sorted(set(args.sizes or ()) - set(SIZES))
    if unknown:
        parser.error(f"--sizes: {unknown} are not among SIZES {list(SIZES)}")
    # A partial run goes to .cache/tune and not into the decision record (reports/memory-runs.json).
    reports = args.out or (ROOT / ".cache" / "tune" if args.sizes else ROOT / "reports")
    reports.mkdir(parents=True, exist_ok=True)
    result = run(args.cdk_out, args.rounds, chosen, reports, sizes=tuple(args.sizes or SIZES))
    if not args.sizes and not args.only and not args.out:
        record(result, "make tune")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    result["date"] = today
    (reports / f"tune-{today}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (reports / f"tune-{today}.md").write_text(render_tune(result))
    print(f"wrote {reports}/tune-{today}.md and .json", file=sys.stderr)


if __name__ == "__main__":
    main()
