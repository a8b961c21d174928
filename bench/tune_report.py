"""The memory tuner's figures as Markdown: `make tune`'s own report and the section of `make bench`'s."""

from __future__ import annotations

from typing import Any

# Where the configured size differs from the rule's pick, why (none while each follows its measurement).
DEVIATIONS: dict[str, str] = {}


def render_tune(t: dict[str, Any]) -> str:
    out: list[str] = [f"# Memory per function {t.get('date', '')}\n"]
    tune_section(t, out.append, heading="##")
    return "\n".join(out) + "\n"


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def tune_section(t: dict[str, Any], w: Any, heading: str = "##", title: str = "Memory per function") -> None:
    w(f"{heading} {title} (`make tune`)\n")
    if t.get("error"):
        w(f"Not measured on this run: {t['error']}.\n")
        return
    w(
        f"How measured: `bench/tune.py`, each Python function of the synthesized {t['stage']} stage by its template "
        "resource, with its representative invocations. For every size "
        f"({', '.join(str(s) for s in t['sizes'])} MB), {t['rounds']} rounds that interleave the sizes: a fresh "
        "interpreter is a new execution environment, in a cgroup whose CPU quota is memory / 1,769 MB of one CPU "
        '(Lambda Developer Guide, "Configure Lambda function memory": "At 1,769 MB, a function has the '
        'equivalent of one vCPU (one vCPU-second of credits per second)"; sizes from 128 MB to 10,240 MB in 1-MB '
        "increments, Lambda quotas) and whose memory limit is the size, run as the handler tests run the function "
        "(tests/support/lambda_worker.py): only its staged code asset (no compiled files, as the asset holds it) "
        "and the Lambda package set importable (the python3.13 runtime's boto3, the Powertools layer for functions "
        "that have it), the template's environment with references resolved to the handler tests' stand-ins "
        "(DynamoDB Local, moto, a local HTTP origin for the internal load balancer) and what the runtime sets, the "
        "size as its memory, every AWS call checked against its role. It starts, imports the handler (INIT), "
        "serves one invocation cold and then warm "
        "ones; tracing sampled 1 in 20 where the template turns it on. Cold = INIT + the first invocation. Cost "
        "per million invocations: request price + GB-seconds of the billed duration (rounded up to 1 ms) at the "
        f"function's architecture's price (bench/prices.json, as of {t['prices_as_of']}; Lambda@Edge at its own "
        'prices), INIT billed with the cold invocation (billed since 2025-08-01, AWS Compute Blog, "AWS Lambda '
        f'standardizes billing for INIT Phase"), weighted with {t["cold_share"]:.0%} cold starts ("INITs (cold '
        'starts) typically occur in under 1% of invocations", same post).\n'
    )
    w(
        "**The rule:** each function has a budget, a warm p99 it must keep (given with the function below). Of the "
        "sizes that served every invocation (INIT under 10 s, every invocation within the function's timeout, peak "
        "resident memory within the size, no ERROR line in its log) and kept the budget in every round (the worst "
        "round's p99, not the pooled one), the cheapest per million invocations, cold starts weighted; the smaller "
        "on equal cost. A pick is the measured choice when the last three full runs agree on it (the table at the "
        "end).\n"
    )
    w(
        f"What this host cannot reproduce: more than its {t['host_cpus']} CPUs (a size's quota is capped at them, "
        "and other work shares them: a quota is a ceiling, not a guarantee), Graviton (arm64) CPUs (it is "
        "x86_64), the network to DynamoDB, S3 and CloudFront (the stand-ins answer on loopback and share the "
        "host), and Lambda's own work per invocation outside the handler. Load average at the start "
        f"{t['load_average_start'][0]:.1f}, at the end {t.get('load_average_end', [0])[0]:.1f}; the tuner took "
        f"{t.get('wall_s', 0):.0f} s.\n"
    )
    for function in t["functions"].values():
        _function(function, w, heading, t.get("decided_in"))
    _across_runs(t.get("across_runs"), w, heading)
    w(f"{heading}# Not tuned\n")
    for name, why in t["not_tuned"].items():
        w(f"- {name}: {why}.")
    w("")
    if t.get("plot"):
        w(f"![memory per function]({t['plot']})\n")


def _across_runs(runs: dict[str, Any] | None, w: Any, heading: str) -> None:
    """The rule's pick per function in each of the last full runs (reports/memory-runs.json)."""
    if not runs:
        return
    keys = list(runs["picks"])
    w(f"{heading}# The rule's picks in the last full runs ({len(runs['runs'])} of the 3 it takes)\n")
    w(f"| run (UTC) | from | load average start-end | {' | '.join(keys)} |")
    w("|---|---|---|" + "---|" * len(keys))
    for i, run in enumerate(runs["runs"]):
        picked = " | ".join(f"{runs['picks'][key][i]} MB" for key in keys)
        w(
            f"| {run['at']} | {run['source']} | {run['load_average_start']:.1f}-{run['load_average_end']:.1f} | "
            f"{picked} |"
        )
    sizes = ", ".join(f"{key} {'moved' if size is None else f'{size} MB'}" for key, size in runs["agreed"].items())
    if runs["stable"]:
        verdict = f"they agree: {sizes}"
    elif len(runs["runs"]) < 3:
        verdict = f"only {len(runs['runs'])} recorded, three are needed: {sizes}"
    else:
        verdict = f"they do not agree on every function: {sizes}"
    w(f"\nToday's rule and budgets on each run's recorded figures; {verdict}.\n")


def _differs(f: dict[str, Any], decided_in: str | None) -> str:
    """Why the configured size is not this run's pick, with both sizes' figures from this run."""
    rows = {row["memory_mb"]: row for row in f["rows"]}
    configured, chosen = rows.get(f["configured_mb"]), rows.get(f["choice"]["memory_mb"])
    if f["key"] in DEVIATIONS:
        why = DEVIATIONS[f["key"]]
    elif f.get("decided_mb") == f["configured_mb"] and decided_in:
        why = (
            f"it is the pick the newest three runs in a row agree on (reports/{decided_in}); "
            "newer runs move it only three in a row"
        )
    else:
        why = "not yet changed to a measured pick"
    figures = ""
    if configured and chosen and configured.get("warm_p99_ms") is not None and chosen.get("warm_p99_ms") is not None:
        figures = (
            f"; in this run the configured size's warm p99 was {_ms(configured['warm_p99_ms'])} ms at "
            f"{configured['cost_per_million']['weighted']:.3f} USD per million, the pick's "
            f"{_ms(chosen['warm_p99_ms'])} ms at {chosen['cost_per_million']['weighted']:.3f}"
        )
    return f"**the configured size differs**: {why}{figures}"


def _function(f: dict[str, Any], w: Any, heading: str, decided_in: str | None = None) -> None:
    kinds = ", ".join(f"{i['kind']} {i['weight']:.0%}" for i in f["invocations"])
    budget = f" Budget: {f['budget_ms']:g} ms, {f['budget_why']}." if f.get("budget_ms") else ""
    w(
        f"{heading}# {f['key']} (`{f['handler']}`, {f['architecture']}, timeout {f['timeout_s']} s)\n\n"
        f"Invocations: {kinds}; {f['warm_per_environment']} warm per environment.{budget} Prices: "
        f"{f['rates']['request'] * 1e6:.2f} USD per million requests, {f['rates']['gb_second']:.4g} USD per "
        f"GB-second ({f['rates']['source']}).\n"
    )
    w(
        "| MB | vCPUs | warm p50 ms | warm p99 ms (rounds) | cold ms (rounds) | INIT ms | peak RSS MiB | "
        "USD/M warm | USD/M cold | USD/M weighted | status |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    chosen = f["choice"].get("memory_mb")
    for row in f["rows"]:
        mark = " **(rule)**" if row["memory_mb"] == chosen else ""
        if row.get("warm_p99_ms") is None:
            w(f"| {row['memory_mb']}{mark} | {row['cpus']:.2f} | | | | | | | | | failed: {row['error']} |")
            continue
        low, high = row["warm_p99_range_ms"]
        cold_low, cold_high = row["cold_range_ms"]
        cost = row["cost_per_million"]
        w(
            f"| {row['memory_mb']}{mark} | {row['cpus']:.2f} | {_ms(row['warm_p50_ms'])} | "
            f"{_ms(row['warm_p99_ms'])} ({_ms(low)}-{_ms(high)}) | {row['cold_ms']:,.0f} ({cold_low:,.0f}-"
            f"{cold_high:,.0f}) | {row['init_ms']:,.0f} | {row['max_rss_mib']:.0f} | {cost['warm']:.3f} | "
            f"{cost['cold']:.2f} | {cost['weighted']:.3f} | {'ok' if row['ok'] else row['error']} |"
        )
    w("")
    configured = f["configured_mb"]
    verdict = "the configured size is the rule's pick" if configured == chosen else _differs(f, decided_in)
    w(
        f"The rule picks **{chosen} MB**: {f['choice']['reason']}. Configured ({f['configured_in']}): "
        f"{configured} MB; {verdict}.\n"
    )
