"""Render a benchmark report (the JSON of bench/run.py) as Markdown.

python -m bench.markdown reports/bench-YYYY-MM-DD.json   # re-render without re-running
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench import ratios
from bench.capacity import HELD_SCENARIOS as HELD
from bench.capacity import SCENARIO_TITLES, SCENARIOS
from bench.history import spread_text
from bench.tune_report import tune_section


def suite_runs(tests: dict[str, Any], ratio: str, before: str = " (", after: str = ")") -> str:
    """ "(last 3 runs 4.11-4.71x, the worst decides)": the spread the goal is judged on (reports/suite-runs.json);
    nothing before the history existed."""
    return spread_text(tests.get("across_runs") or {}, ratio, "x", before, after)


def _ok(value: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "n/a"}[value]


def _usd(value: float) -> str:
    return f"${value:,.2f}"


def render(r: dict[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    m = r["machine"]
    w(f"# Benchmarks {r['date']}\n")
    w(
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, load average at start "
        f"{m['load_average_start'][0]:.1f}, at end {m['load_average_end'][0]:.1f} (other jobs ran too; "
        f"absolute times are noisy, ratios are measured side by side in this run). "
        f"`make bench` took {r['total_s']:.0f} s."
        + (
            f" Capacity model, cost and the memory rule's picks re-run on these measurements at {r['remodelled']}."
            if r.get("remodelled")
            else ""
        )
        + "\n"
    )
    _goals(r, w)
    for section in (_synth, _tests, _handler, _chat_scale, _origin, _capacity, _cost, _tune):
        section(r, w)
    return "\n".join(out) + "\n"


def _goals(r: dict[str, Any], w: Any) -> None:
    w("## Goals\n")
    w("| goal | target | measured | status |\n|---|---|---|---|")
    s, g, met = r["synth"], r["goals"], r["goals_met"]
    w(
        f"| full app synth / trivial synth | <= {g['synth_ratio']}x | {s['ratio_app_to_trivial']:.2f}x"
        f"{ratios.shown(r, 'synth')} | {_ok(met['synth_ratio'])} |"
    )
    w(
        f"| same, CDK_VALIDATION=false | <= {g['synth_ratio']}x | {s['ratio_app_to_trivial_no_validation']:.2f}x"
        f"{ratios.shown(r, 'synth_no_validation')} | {_ok(met['synth_ratio_no_validation'])} |"
    )
    t = r.get("tests")
    w(
        f"| test suite / one full synth | <= {g['test_ratio']}x | "
        f"{f'{t["ratio_to_one_synth"]:.2f}x{suite_runs(t, "cold")}' if t else 'skipped'} | {_ok(met['test_ratio'])} |"
    )
    if t and "ratio_warm_to_one_synth" in t:
        w(
            f"| same, run again with the test cache of the first run | "
            f"<= {g.get('test_ratio_warm', g['test_ratio'])}x | "
            f"{t['ratio_warm_to_one_synth']:.2f}x{suite_runs(t, 'warm')} | {_ok(met.get('test_ratio_warm'))} |"
        )
    if t and "ratio_fast_to_one_synth" in t:
        w(
            f"| `make test-fast` on that cache / one full synth | <= {g['test_fast_ratio']}x | "
            f"{t['ratio_fast_to_one_synth']:.2f}x{suite_runs(t, 'fast')} | {_ok(met.get('test_fast_ratio'))} |"
        )
    hw, hc = r["handler_warm"], r["handler_cold"]
    w(
        f"| handler p50 / bare boto3 p50 | <= {g['handler_overhead']}x | {hw['ratio_p50']:.2f}x"
        f"{ratios.shown(r, 'handler_overhead')} | {_ok(met['handler_overhead'])} |"
    )
    w(
        f"| cold import of chat_api.handler (median) | < {g['cold_import_ms']} ms | "
        f"{hc['handler_median_ms']:.0f} ms{ratios.shown(r, 'cold_import_ms', ' ms')} | {_ok(met['cold_import'])} |"
    )
    if "cold_import_ratio" in met:
        lam = r["handler_cold_lambda"]["current"]
        w(
            f"| cold import / bare boto3 import (dev venv, as since issue 6) | <= {g['cold_import_ratio']}x | "
            f"{hc['ratio_handler_to_boto3']:.2f}x{ratios.shown(r, 'cold_import')} | {_ok(met['cold_import_ratio'])} |"
        )
        w(
            f"| same, as Lambda runs it (runtime + layer packages, tracing on) | <= {g['cold_import_ratio']}x | "
            f"{lam['ratio_import_to_boto3']:.2f}x{ratios.shown(r, 'cold_import_lambda')} "
            f"| {_ok(met['cold_import_ratio_lambda'])} |"
        )
        low, high = lam["ratio_cold_request_to_floor_runs_p10_p90"]
        w(
            "| cold request as Lambda runs it (import, client, first `GET` of a room) / floor (boto3 import, "
            f"client, one GetItem), the worse of wall and CPU | <= {g['cold_import_ratio']}x | "
            f"{lam['ratio_cold_request_to_floor']:.2f}x wall (runs p10-p90 {low:.2f}-{high:.2f}x), "
            f"{lam['ratio_cold_request_to_floor_cpu']:.2f}x CPU"
            f"{ratios.shown(r, 'cold_request_lambda', 'x', '; the worse of the two: ', '')} "
            f"| {_ok(met.get('cold_request_lambda'))} |"
        )
    _goals_edge_tuning_cost(r, w)


def _goals_edge_tuning_cost(r: dict[str, Any], w: Any) -> None:
    g, met = r["goals"], r["goals_met"]
    o, c = r["origin"], r["capacity"]
    runs = o.get("across_runs")
    w(
        f"| web origin capacity per task (p99 <= {o['p99_target_ms']:g} ms, from CPU per request) | measured | "
        f"{f'{o["rps_per_task"]:.0f} req/s' if o.get('rps_per_task') else 'not measured: ' + o.get('error', '')} "
        f"| {_ok(met['origin_measured'])} |"
    )
    if runs:
        w(
            f"| same, last {len(runs['runs'])} runs within {runs['spread_goal']:.0%} (highest / lowest - 1) | "
            f"<= {runs['spread_goal']:.0%} | {runs['spread']:.0%}{_host_note(runs)}; measured "
            f"{runs['min_rps']:.0f}-{runs['max_rps']:.0f} req/s, the model takes {runs['min_rps']:.0f} | "
            f"{_ok(met.get('origin_spread'))} |"
        )
    target = c["params"]["page_views_per_s"]
    exceeded = c["at_target"]["limits_exceeded"]
    w(
        f"| inside every limit at {target:,.0f} page views/s | all limits, {len(HELD)} scenarios | "
        f"exceeded: {', '.join(exceeded) or 'none'} | {_ok(met['capacity_at_target'])} |"
    )
    point = c["breaking_point_page_views_per_s"]
    w(
        f"| first broken limit | >= {g['capacity_headroom'] * target:,.0f} page views/s | "
        f"{_breaks(point, c.get('first_limit'))} | {_ok(met['capacity_headroom'])} |"
    )
    t = r.get("tune")
    if t and not t.get("error"):
        picks = ", ".join(
            f"{k} {f['choice']['memory_mb']} MB"
            + ("" if f["choice"]["memory_mb"] == f["configured_mb"] else f" (configured {f['configured_mb']})")
            for k, f in t["functions"].items()
        )
        runs = t.get("across_runs", {})
        agree = f"; the last {len(runs['runs'])} runs {'agree' if runs['stable'] else 'do not agree'}" if runs else ""
        w(
            f"| memory per function is the rule's pick, the same in the last 3 runs (section 7) | configured = "
            f"measured | {picks}{agree} | {_ok(met.get('memory_by_measurement'))} |"
        )
    for stage, data in r["cost"]["stages"].items():
        w(f"| {stage} idle cost per month | stated | {_usd(data['idle'])} | stated |")
    w("")


def _synth(r: dict[str, Any], w: Any) -> None:
    s = r["synth"]
    w("## 1. Synth\n")
    w(
        "How measured: each variant is one fresh `python -m bench.synth_probe` process (a new interpreter and jsii "
        "node process, like `cdk synth` runs app.py), synthesizing into an empty directory with the feature flags "
        f"of cdk.json; variants run round-robin, {s['repeat']} round(s), median shown. `app` builds every stack of "
        f"every stage ({s['stacks_in_app']} stacks) with the cdk-nag AwsSolutions plugin, as app.py and the test "
        "fixture do; `trivial` is one stack with one `AWS::SQS::Queue`. Phases: import = `import aws_cdk` (starts "
        "node, loads aws-cdk-lib), build = constructing the app, synth = `app.synth()` (templates, assets, "
        "validation plugins).\n"
    )
    w("| variant | wall s | import s | build s | synth s |\n|---|---|---|---|---|")
    for name, v in s["median"].items():
        w(f"| {name} | {v['wall_s']:.1f} | {v['import_s']:.1f} | {v['build_s']:.1f} | {v['synth_s']:.1f} |")
    w("")
    w(
        f"- Ratio app/trivial: **{s['ratio_app_to_trivial']:.2f}x** with validation, "
        f"**{s['ratio_app_to_trivial_no_validation']:.2f}x** without.\n"
        f"- Built-in CloudFormation validation costs {s['validation_cost_trivial_s']:.1f} s on the trivial app and "
        f"{s['validation_cost_app_s']:.1f} s on ours; cdk-nag (AwsSolutions on every construct) costs "
        f"{s['nag_cost_s']:.1f} s.\n"
        "- The switch that turns validation off in aws-cdk-lib 2.275 is the environment variable "
        "`CDK_VALIDATION=false` (or `App(builtin_cloud_formation_validation=False)`): the library runs its "
        "CloudFormation validation plugin when `app._builtinCloudFormationValidation && "
        "process.env.CDK_VALIDATION !== 'false'`. The feature flag `@aws-cdk/core:validateAgainstDefaultRules` "
        "does not skip anything: it only decides whether that plugin's findings are errors (flag true, as in our "
        "cdk.json) or are downgraded to warnings.\n"
    )


def _tests(r: dict[str, Any], w: Any) -> None:
    t = r.get("tests")
    if t:
        warm, fast = t.get("warm", {}), t.get("fast")
        w("## 2. Test suite\n")
        w(
            "How measured: the whole suite as `make test` runs it (`pytest -n auto --dist loadgroup`), twice with one "
            "empty test cache (`CDK_TEST_CACHE`): first cold, nothing synthesized or linted yet, as after a change to "
            "an architecture's code; then warm, with the assemblies and cfn-lint results the first run left, as after "
            f"a change to tests only. Cold: {t['wall_s']:.0f} s, exit code {t['exit_code']}, {t['counts']}"
            f"{'; failed: ' + ', '.join(f'`{n}`' for n in t.get('failed', [])) if t.get('failed') else ''}. "
            f"Warm: {warm.get('wall_s', 0):.0f} s, exit code {warm.get('exit_code')}, {warm.get('counts')}. "
            + (
                "Then `make test-fast` (the template tests without the commands: `pytest -m 'not command'`, "
                "every infrastructure folder, not the handler tests under runtime/ and container/) on the same cache: "
                f"{fast['wall_s']:.0f} s, exit code {fast['exit_code']}, {fast['counts']}. "
                if fast
                else ""
            )
            + f"One full `app` synth, measured right before ({t.get('synth_before_s', 0):.1f} s) and right after "
            f"({t.get('synth_after_s', 0):.1f} s) the suite runs, mean {t.get('one_synth_s', 0):.1f} s. "
            f"Ratio to one full `app` synth of this run: cold **{t['ratio_to_one_synth']:.2f}x**, warm "
            f"**{t.get('ratio_warm_to_one_synth', 0):.2f}x**"
            + (f", test-fast **{t['ratio_fast_to_one_synth']:.2f}x**" if "ratio_fast_to_one_synth" in t else "")
            + ". Slowest steps of the cold run (pytest --durations; "
            "steps of two workers overlap):\n"
        )
        w("| s | phase | test |\n|---|---|---|")
        for row in t["slowest"]:
            w(f"| {row['seconds']:.1f} | {row['phase']} | `{row['test']}` |")
        if warm.get("slowest"):
            w("\nSlowest steps of the warm run (what a run after a change to tests only still pays):\n")
            w("| s | phase | test |\n|---|---|---|")
            for row in warm["slowest"]:
                w(f"| {row['seconds']:.1f} | {row['phase']} | `{row['test']}` |")
        w("")


def _handler(r: dict[str, Any], w: Any) -> None:
    hw, hc = r["handler_warm"], r["handler_cold"]
    w("## 3. Chat handler\n")
    w(
        f"Cold import — how measured: {hc['runs']} fresh interpreters each `import chat_api.handler` (Powertools "
        "Logger/Tracer/Metrics, resolver, idempotency layer, pydantic models, boto3) with the function's "
        "environment, timed inside the process (interpreter start excluded); interleaved with the same number of "
        "interpreters importing only boto3, the floor any Python handler pays.\n"
    )
    w(
        f"- chat_api.handler: median **{hc['handler_median_ms']:.0f} ms**, p90 {hc['handler_p90_ms']:.0f} ms; "
        f"boto3 alone: median {hc['boto3_median_ms']:.0f} ms (ratio {hc['ratio_handler_to_boto3']:.2f}x); "
        f"boto3 + the X-Ray SDK recorder (what Powertools' Tracer imports): "
        f"median {hc.get('boto3_xray_median_ms', float('nan')):.0f} ms.\n"
    )
    base = r.get("handler_cold_baseline")
    if base:
        w(
            f"- Before (the chat_api bundle at `{r['handler_cold_lambda']['baseline_rev']}`), measured the same way in "
            f"this run: median **{base['handler_median_ms']:.0f} ms**, boto3 alone {base['boto3_median_ms']:.0f} "
            f"ms (ratio {base['ratio_handler_to_boto3']:.2f}x).\n"
        )
    lam = r.get("handler_cold_lambda")
    if lam:
        _handler_as_lambda(r, lam, w)
    w("Largest imports (`python -X importtime`, cumulative, one run):\n")
    w("| module | depth below the handler | cumulative ms |\n|---|---|---|")
    for row in hc["top_imports"]:
        w(f"| `{row['module']}` | {row['depth']} | {row['cumulative_ms']:.0f} |")
    w("")
    w(
        f"Warm requests — how measured: DynamoDB Local (in memory) and moto on 127.0.0.1, tables created from the "
        f"synthesized sandbox Chat template; {hw['items_per_response']} comments in a room; then "
        f"{hw['requests']} times, interleaved: `GET /rooms/{{room}}/comments?all=true&limit="
        f"{hw['items_per_response']}` (one index page) through `chat_api.handler.handler` (API Gateway proxy "
        "event, fake context), and the same `Query` on the `by-room-time` index with a bare boto3 client. 20 "
        "warm-up rounds each. (The default listing, latest, is one GetItem now: section 3b.)\n"
    )
    w("| path | p50 ms | p99 ms |\n|---|---|---|")
    w(f"| handler | {hw['handler_p50_ms']:.2f} | {hw['handler_p99_ms']:.2f} |")
    w(f"| bare boto3 query | {hw['boto3_p50_ms']:.2f} | {hw['boto3_p99_ms']:.2f} |")
    w(f"| ratio | **{hw['ratio_p50']:.2f}x** | {hw['ratio_p99']:.2f}x |")
    w("")


def _handler_as_lambda(r: dict[str, Any], lam: dict[str, Any], w: Any) -> None:
    """The cold start as Lambda runs it: its packages, its environment, tracing on."""
    w(
        f"As Lambda runs it — how measured: {lam['current']['runs']} fresh interpreters of each kind, interleaved, "
        "as the function starts in Lambda: "
        "no site packages (`python -S`), only the packages Lambda's python3.13 runtime (boto3 and its "
        "dependencies) and the Powertools layer (its `tracer` and `parser` extras) provide, Lambda's "
        "environment (`LAMBDA_TASK_ROOT`, a sampled `_X_AMZN_TRACE_ID`, the X-Ray daemon address on a local "
        "UDP socket) and tracing on, as deployed. The X-Ray SDK behaves differently there: outside Lambda "
        "its recorder creates a botocore X-Ray client for centralized sampling, inside it samples locally, "
        "and the development venv holds libraries (psycopg, requests, ...) that Tracer's default patching "
        "imports and wraps, which Lambda does not have. Each interpreter then serves one "
        "`GET /rooms/{room}/comments` against DynamoDB Local (the room's view exists); the floor is an "
        "interpreter that imports boto3, creates a DynamoDB client and makes one GetItem. Packages: "
        + ", ".join(f"`{p}`" for p in lam["current"]["packages"])
        + ".\n"
    )
    w(
        "| code | import ms | first request ms | import + first request ms | boto3 import ms | floor ms "
        "| import / boto3 (runs p10-p90) | cold request / floor (runs p10-p90) | same two in CPU time |"
    )
    w("|---|---|---|---|---|---|---|---|---|")
    for label, row in (("before", lam.get("baseline")), ("after", lam["current"])):
        if row:
            w(
                f"| {label} | {row['handler_import_median_ms']:.0f} | {row['handler_first_request_median_ms']:.0f}"
                f" | {row['handler_import_and_first_request_median_ms']:.0f} | {row['boto3_import_median_ms']:.0f}"
                f" | {row['floor_import_and_first_request_median_ms']:.0f} | "
                f"**{row['ratio_import_to_boto3']:.2f}x** ({_spread(row, 'ratio_import_to_boto3')}) | "
                f"{row['ratio_cold_request_to_floor']:.2f}x ({_spread(row, 'ratio_cold_request_to_floor')}) | "
                f"{row['ratio_import_to_boto3_cpu']:.2f}x, {row['ratio_cold_request_to_floor_cpu']:.2f}x |"
            )
    w(
        "\nCPU time is the interpreter's own (`time.process_time`), which a loaded machine's preemption does not "
        "add to; the import includes creating the DynamoDB client (the floor creates its own after the import)."
    )
    w("")
    _snapstart(r.get("handler_snapstart"), lam["current"], w)
    w("Largest imports as Lambda runs it (`python -S -X importtime`, cumulative, one run, after):\n")
    w("| module | depth below the handler | cumulative ms |\n|---|---|---|")
    for row in lam["current"]["top_imports"]:
        w(f"| `{row['module']}` | {row['depth']} | {row['cumulative_ms']:.0f} |")
    w("")


def _spread(row: dict[str, Any], key: str) -> str:
    low, high = row[f"{key}_runs_p10_p90"]
    return f"{low:.2f}-{high:.2f}"


def _snapstart(ss: dict[str, Any] | None, cold: dict[str, Any], w: Any) -> None:
    if not ss:
        return
    w(
        "With SnapStart (prod), emulated — how measured: one interpreter as above imports the handler and runs its "
        "before-snapshot hooks as Lambda's runtime does; each `fork()` is a restored environment (the snapshot's "
        "random state, the after-restore hooks) whose first `GET /rooms/{room}/comments` is timed from the fork; "
        "the floor the same with a bare boto3 DynamoDB client created before the fork and one GetItem after. "
        f"{ss['restores']} restores of each, interleaved. Not in either figure: the snapshot's restore from "
        "Lambda's cache, which this machine cannot measure (docs/benchmarks.md says what AWS documents of it).\n"
    )
    wall, cpu = ss["wall"], ss["cpu"]
    w("| path | wall median ms | wall p90 ms | CPU median ms |\n|---|---|---|---|")
    w(
        f"| handler | {wall['handler_first_request_median_ms']:.0f} | {wall['handler_first_request_p90_ms']:.0f} | "
        f"{cpu['handler_first_request_median_ms']:.0f} |"
    )
    w(
        f"| bare boto3 GetItem | {wall['floor_first_request_median_ms']:.0f} | "
        f"{wall['floor_first_request_p90_ms']:.0f} | {cpu['floor_first_request_median_ms']:.0f} |"
    )
    w(
        f"\nRestored request / restored floor: **{wall['ratio_restored_request_to_floor']:.2f}x** wall (pairs p10-p90 "
        "{:.2f}-{:.2f}x), {:.2f}x CPU (pairs {:.2f}-{:.2f}x). Against the cold request without SnapStart ({:.0f} ms "
        "above), the restored one takes {:.2f}x the time.\n".format(
            *wall["ratio_pairs_p10_p90"],
            cpu["ratio_restored_request_to_floor"],
            *cpu["ratio_pairs_p10_p90"],
            cold["handler_import_and_first_request_median_ms"],
            wall["handler_first_request_median_ms"] / cold["handler_import_and_first_request_median_ms"],
        )
    )
    pages = ss.get("pages")
    if pages:
        w(
            f"Memory pages the restored first request writes (minor page faults in the child, no noise from load): "
            f"{pages['handler_first_request_median']:.0f} vs {pages['floor_first_request_median']:.0f} for the bare "
            f"GetItem, **{pages['ratio']:.2f}x**. On Lambda a restored environment loads the snapshot's pages as it "
            "touches them (docs/benchmarks.md).\n"
        )


def _chat_scale(r: dict[str, Any], w: Any) -> None:
    lr, cc = r.get("latest"), r.get("chat_capacity")
    if lr:
        _latest_view(lr, w)
    if cc:
        _hot_room(cc, w)
    load = _latest_load(r)
    if load:
        _load(load, w)


def _latest_view(lr: dict[str, Any], w: Any) -> None:
    w('## 3b. Chat: "latest" from the stream-kept view\n')
    w(
        f"How measured: DynamoDB Local and moto on 127.0.0.1, tables of the synthesized sandbox template; "
        f"{lr['comments_in_room']} comments of 60 characters posted through the handler into one room per shard "
        "count, and the stream consumer's handler run on the table's real stream records (so the room's view "
        f"exists). Then {lr['requests']} times, interleaved, `GET /rooms/{{room}}/comments` (the latest 25) "
        "through the handler three ways: *index* — the index query every request made before the view; "
        "*view* — the GetItem of the view; *behind* — the view's GetItem then the index, what a request pays "
        "when the view is missing, incomplete or behind. Read units are what DynamoDB Local reports "
        "(`ReturnConsumedCapacity=TOTAL` added to the handler's client); DynamoDB itself charges at least "
        "0.5 read units for any Query, also an empty one, which DynamoDB Local reports as 0.\n"
    )
    w("| shards | path | read units / request | DynamoDB calls | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    for row in lr["rows"]:
        w(
            f"| {row['shards']} | {row['path']} | {row['read_units_per_request']:.2f} | "
            f"{row['calls_per_request']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |"
        )
    w("")


def _hot_room(cc: dict[str, Any], w: Any) -> None:
    w("## 3c. Chat: one hot room at live-event scale (model)\n")
    w(
        "How computed (not measured): `bench/chat_capacity.py` — each comment's write into both room "
        "indexes, spread over the room's shards; the stream consumer's transactions (up to 99 comments and "
        "one counter update each) and its one consistent read and one write of the room's view per batch; "
        "item sizes by DynamoDB's rules, the view item compressed as chat/runtime/chat_stream writes it, with "
        "chat-like text. Limits: 1,000 write units/s and 3,000 read units/s per partition (one item is "
        "in one partition). Parameters:\n"
    )
    w("| parameter | value | source |\n|---|---|---|")
    for key, value in cc["params"].items():
        w(f"| {key} | {value:,} | {cc['sources'].get(key, 'assumed')} |")
    w("")
    w(
        "| case | index partition WU/s | counter item WU/s | view item WU/s | view item RU/s | view writes/s "
        "| comment WU | view bytes | room holds comments/s | stream shards the view takes |"
    )
    w("|---|---|---|---|---|---|---|---|---|---|")
    for case, res in cc["cases"].items():
        rt, ut = res["rates"], res["utilization"]
        w(
            f"| {case} | {rt['index_partition_wcu']:,.0f} ({ut['index_partition_wcu']:.0%}) | "
            f"{rt['counter_item_wcu']:,.1f} ({ut['counter_item_wcu']:.1%}) | {rt['view_item_wcu']:,.0f} "
            f"({ut['view_item_wcu']:.0%}) | {rt['view_item_rcu']:,.0f} ({ut['view_item_rcu']:.0%}) | "
            f"{res['view_writes_per_s']:,.0f} | {res['comment_item_wcu']} | {res['view_item_bytes']:,} | "
            f"{cc['max_comments_per_s'][case]:,.0f} | {cc['max_stream_shards'][case]:,} |"
        )
    typical = cc["cases"]["typical"]
    w(
        f"\nA comment's index entry costs one write unit up to {cc['longest_one_unit_comment_chars']} ASCII "
        f"characters of text. One view item serves at most {typical['latest_reads_per_s_limit']:,.0f} "
        '"latest" reads/s of one room (eventually consistent, 0.5 units per 4 KB); more viewers than that '
        "need a cache in front (not built). Markers: "
        f"{typical['marker_wcu_per_s']:,.0f} write units/s on random keys (spread, no hot partition).\n"
    )
    w(f"![one hot room]({cc['plot']})\n")


def _latest_load(r: dict[str, Any]) -> dict[str, Any] | None:
    """The newest `make load` report beside this one, if any (make load writes it; bench does not run it)."""
    found = sorted((Path(__file__).resolve().parents[1] / "reports").glob("load-*.json"))
    return json.loads(found[-1].read_text()) if found else None  # type: ignore[no-any-return]


def _load(lr: dict[str, Any], w: Any) -> None:
    w(f"## 3d. Chat: load test (`make load`, {lr['date']}, [report](load-{lr['date']}.md))\n")
    for line in load_section(lr):
        w(line)


def load_section(lr: dict[str, Any]) -> list[str]:
    """The load test's method, per-step table, checks and plot (make load's report and the bench report)."""
    out = [lr["how"] + "\n"]
    out.append("| step | users | requests/s | p50 ms | p99 ms | requests | failures | posts acknowledged |")
    out.append("|---|---|---|---|---|---|---|---|")
    for step in lr["steps"]:
        out.append(
            f"| {step['name']} | {step['users']} | {step['requests_per_s']:,.0f} | {step['p50_ms']:.0f} | "
            f"{step['p99_ms']:.0f} | {step['requests']:,} | {step['failures']:,} | {step['posts']:,} |"
        )
    out.append("")
    out.append(lr["summary"] + "\n")
    out.append(f"![load curve]({lr['plot']})\n")
    return out


def _breaks(point: float | None, first: list[Any] | None) -> str:
    if point is None:
        return "none below 1,000,000 page views/s"
    where = f" ({first[1]}, {SCENARIO_TITLES[first[0]]})" if first else ""
    return f"{point:,.0f} page views/s{where}"


def _origin(r: dict[str, Any], w: Any) -> None:
    o = r["origin"]
    w("## 4. Web origin capacity per task\n")
    w(
        f"How measured: {o['method']}. `GET {o['path']}` is the app's database route (a TLS connection, SCRAM "
        f"login and one query per request, as it runs against Aurora). Task: {o['task']['cpu_units']} CPU units, "
        f"{o['task']['memory_mib']} MiB (prod's `web.cpu` / `web.memory_mib`), enforced as a CFS quota of "
        f"{o['task']['cpu_units'] / 1024:g} CPU and a memory limit; the three groups (task, database, load "
        "generator) are weighted so that other work on the shared host does not take their share.\n\n"
        "Why CPU time and not the wall-clock rate at which latency gives way: on a 2-core host shared with other "
        "work, that rate moved from 41 to 121 req/s between runs (the database and the load generator share the "
        "host, and a 20 req/s step is a third of the task's range), while the task's CPU time per request moves "
        "little. A probe window at "
        f"{o.get('probe_rps', 20):g} req/s gives a first figure; {len(o.get('windows', [])) or 3} windows of "
        f"{o['step_s']:g} s at the capacity it implies give the median that counts. Capacity = quota / CPU per "
        "request (the CPU-bound rate) x the highest utilization at which an M/M/1 queue with the task's service "
        f"time (CPU per request / quota) keeps its p99 within {o['p99_target_ms']:g} ms (p99 = S ln 100 / (1 - rho); "
        "M/M/1 is the conservative choice, real service times vary less than exponential ones). The windows' own "
        "wall-clock p50/p99 are shown as a check; they include the database and the host's other work. Machine: "
        f"{o['cpus']} CPUs, load average {o['load_average_start'][0]:.1f} at the start"
        + (f", {o['load_average_end'][0]:.1f} at the end." if o.get("load_average_end") else ".")
        + "\n"
    )
    if o.get("error"):
        w(f"**Not measured on this run:** {o['error']}. The capacity model below uses its default.\n")
        return
    w(
        "| window | offered req/s | requests | task CPU ms / request | database CPU ms / request | p50 ms | p99 ms "
        "| load |"
    )
    w("|---|---|---|---|---|---|---|---|")
    for name, s in [("probe", o["probe"]), *((f"at capacity {i + 1}", x) for i, x in enumerate(o["windows"]))]:
        w(
            f"| {name} | {s['offered_rps']:.0f} | {s['requests']:,} | {s['cpu_seconds_per_request'] * 1000:.2f} | "
            f"{s['database_cpu_seconds_per_request'] * 1000:.2f} | {s['p50_ms']:.0f} | {s['p99_ms']:.0f} | "
            f"{s['load_average']:.1f} |"
        )
    w("")
    low, high = o["cpu_seconds_per_request_range"]
    w(
        f"- This run: **{o['rps_per_task']:.0f} requests/s per task** from {o['cpu_seconds_per_request'] * 1000:.2f} "
        f"ms of CPU per request (windows {low * 1000:.2f}-{high * 1000:.2f} ms): CPU-bound rate "
        f"{o['cpu_bound_rps_per_task']:.0f} req/s, service time {o['service_ms']:.1f} ms, utilization "
        f"{o['utilization']:.0%}. At {o['checked_rps']:.0f} req/s the windows' wall-clock p99 were "
        f"{', '.join(f'{x["p99_ms"]:.0f}' for x in o['windows'])} ms (median {o['checked_p99_ms']:.0f} ms; "
        f"{'every window' if o['checked_within_target'] else '**not** every window'} within the target and the "
        f"failure bound on this host). CFS periods throttled: {o['throttled_periods']['throttled']} of "
        f"{o['throttled_periods']['periods']}; peak memory {o['memory_max_mib']:.0f} MiB.\n"
        "- Not the same hardware: Fargate runs the task on ARM64 (Graviton); this machine's CPU is what was "
        "measured, and one vCPU here is assumed to do what one there does.\n"
    )
    _origin_runs(o, w)


_BASIS = {
    "database": "the database's CPU per request in the same windows",
    "host reference": "the reference workload's time (not every run records the database's CPU)",
}


def _host_note(runs: dict[str, Any]) -> str:
    """How the spread compares the runs: at one host's speed (by which reference), or as measured."""
    if runs.get("on_newest_host_rps"):
        scaled = runs["on_newest_host_rps"]
        basis = _BASIS.get(runs.get("basis") or "host reference", "")
        return (
            f" at this run's host speed by {basis} ({min(scaled):.0f}-{max(scaled):.0f} req/s; as measured "
            f"{runs['absolute_spread']:.0%})"
        )
    return " as measured (not every run records its host's speed)"


def _origin_runs(o: dict[str, Any], w: Any) -> None:
    runs = o.get("across_runs")
    if runs:
        w(
            f"Across runs (`reports/origin-runs.json` keeps every run; `python -m bench.origin` records one too), the "
            f"last {len(runs['runs'])}: min **{runs['min_rps']:.0f}**, median {runs['median_rps']:.0f}, max "
            f"{runs['max_rps']:.0f} req/s per task as measured; spread {runs['spread']:.0%}{_host_note(runs)} "
            f"(goal: within {runs['spread_goal']:.0%}, highest / lowest - 1: "
            f"{_ok(runs['within_goal'])}). The capacity model below takes the lowest measured figure, and the "
            "shortest fetch time of those runs for the publisher.\n\n"
            "The task's CPU time per request moves with the speed the host gives this VM, between sessions and "
            "within one (docs/benchmarks.md): the database's CPU per request, the same work per request (TLS, a "
            "SCRAM login, one query) in the same windows, moves with it (across the runs of 2026-12-07 the task's "
            "moved 5.4-7.7 ms and the ratio of the two 1.26-1.30). The spread compares the runs at the newest run's "
            "speed: each run's task CPU per request scaled by the two runs' database CPU per request. Each run also "
            "times a fixed workload, the fastest of "
            f"{o.get('host_reference_repeats', 'several')} runs before and after the windows (a SCRAM-sized PBKDF2, "
            "JSON, a regular expression and a sort, `bench/origin.py`), used where a run lacks the database's "
            "figure: that fastest run did not see the VM's slower minutes (56.8-59.9 ms while the windows moved "
            "40%).\n"
        )
        w(
            "| run | source | req/s per task | CPU ms / request | database CPU ms / request | host reference ms "
            "| req/s at this run's speed | p50 / p99 ms at capacity | load at start |"
        )
        w("|---|---|---|---|---|---|---|---|---|")
        scaled = runs.get("on_newest_host_rps") or [None] * len(runs["runs"])
        for run, on_host in zip(runs["runs"], scaled, strict=True):
            reference = run.get("host_reference_cpu_s")
            database = run.get("database_cpu_seconds_per_request")
            w(
                f"| {run['at']} | {run['source']} | {run['rps_per_task']:.1f} | "
                f"{run['cpu_seconds_per_request'] * 1000:.2f} | "
                f"{f'{database * 1000:.2f}' if database else 'not recorded'} | "
                f"{f'{reference * 1000:.1f}' if reference else 'not recorded'} | "
                f"{f'{on_host:.1f}' if on_host else '-'} | {run['checked_p50_ms']:.0f} / "
                f"{run['checked_p99_ms']:.0f} | {run['load_average_start']:.1f} |"
            )
        w("")


def _capacity(r: dict[str, Any], w: Any) -> None:
    c = r["capacity"]
    a = c["at_target"]
    p = c["params"]
    target = p["page_views_per_s"]
    met = r["goals_met"]
    w(f"## 5. Capacity at {target:,.0f} page views/s\n")
    w(
        f"**inside every limit at {target:,.0f} page views/s: {_ok(met['capacity_at_target'])}** — the first "
        f"limit breaks at **{_breaks(c['breaking_point_page_views_per_s'], c.get('first_limit'))}**.\n"
    )
    function = p["edge_path"] != "s3_origin_group"
    w(
        "How computed (not measured): `bench/capacity.py`, an analytical model of the shipped prod config — Zipf "
        "page popularity, Poisson requests, TTL caches at the edge locations, the regional edge caches and "
        "Origin Shield (miss rate r/(1+r·TTL) per node). A fill leaves Origin Shield as an origin request to the "
        "origin group: S3 through OAC, which answers what the publisher stored; when S3 has no copy (403) or "
        "throttles (503 Slow Down) the group fails over to the web service's VPC origin. No function runs on a "
        "fill (VPC origins support no origin-request or origin-response Lambda@Edge trigger), so no Lambda quota "
        "bounds the fill rate. The publisher fetches inside the VPC: its fetches load the web origin, never "
        "CloudFront or its web ACL. Cold caches: the fills are the distinct pages requested, sum(1-exp(-λ·t)). "
        "`bench/simulation.py` (event-driven, seeded, 30,000 page views/s) checks it; see the end of this "
        "section.\n"
    )
    w("Scenarios (the first four are held: every limit below 1 at the target; breaking point each):\n")
    lambda_cols = " function invocations/s | environments needed (allowed) |" if function else ""
    w(f"| scenario | fills/s |{lambda_cols} web origin req/s (capacity) | most used limit | breaks at page views/s |")
    w("|---|---|" + ("---|---|" if function else "") + "---|---|---|")
    for name in (*HELD, "all_cold"):
        sc = a["scenarios"][name]
        d, u = sc["detail"], sc["utilization"]
        top = max(u.items(), key=lambda kv: kv[1])
        point = c["scenario_breaking_points"][name]
        lam = (
            f" {d['lambda_invocations_per_s']:,.0f} | {d['lambda_environments_needed']:,.0f} "
            f"({d['lambda_environments_allowed']:,.0f}) |"
            if function
            else ""
        )
        w(
            f"| {SCENARIO_TITLES[name]}{'' if name in HELD else ' (not held: see below)'} | {d['fills_per_s']:,.0f} |"
            f"{lam} {d['web_origin_rps']:,.0f} ({d['web_origin_capacity_rps']:,.0f}) | {top[0]} {top[1]:.2f} | "
            + (f"{point:,.0f} |" if point else "none below 1,000,000 |")
        )
    w("")
    _publisher_and_waf(c, w)
    _capacity_limits(c, w)


def _capacity_limits(c: dict[str, Any], w: Any) -> None:
    """What breaks first beyond the held scenarios, and every limit at the target."""
    a, p = c["at_target"], c["params"]
    cold = a["scenarios"]["all_cold"]["detail"]
    w(
        f"An unpaced `/*` asks S3 for {cold['fills_per_s']:,.0f} GET/s in its first second; S3 serves a burst "
        f"from the {a['s3_partitions_for_steady_load']} partition(s) it keeps for the steady load "
        f"({a['s3_get_per_s']:,.0f} GET/s) and scales gradually, answering 503 Slow Down meanwhile. The origin "
        f"group turns those into web-origin requests ({cold['s3_overflow_to_web_per_s']:,.0f}/s, against "
        f"{cold['web_origin_capacity_rps']:,.0f}/s on the {a['web_tasks_running']} tasks running), which answer "
        "5xx or time out beyond their capacity: the viewer gets that answer. No edge design avoids this (the "
        "table below): so the shipped config never purges the site at once. A deploy-wide refresh goes through "
        f"the publisher (every page republished, each batch of {p['publish_batch_paths']} paths invalidated on its "
        f"own, wildcards refused), and a new distribution takes its traffic over {p['ramp_s']:.0f} s (at twice "
        f"the target it needs at least {c['ramp_needed_s_at_2x'] or 0:.0f} s).\n"
    )
    ms = c["miss_share_limit_at_2x"]
    w(
        f"The web origin's limit rests on the assumed share of page views for URLs never published "
        f"({p['miss_share']:.1%}): at twice the target the origin holds while that share stays below "
        f"{ms['steady']:.2%} (steady) and {ms['refresh']:.2%} (during a refresh, beside the publisher's fetches).\n"
    )
    w("Every limit at the target, per scenario (share of the limit):\n")
    limits = sorted({k for sc in a["scenarios"].values() for k in sc["utilization"]})
    w("| scenario | " + " | ".join(limits) + " |")
    w("|---|" + "---|" * len(limits))
    for name, sc in a["scenarios"].items():
        cells = [f"{sc['utilization'][k]:.2f}" if k in sc["utilization"] else "" for k in limits]
        w(f"| {name} | " + " | ".join(cells) + " |")
    w("")
    _designs(c, w)
    _inputs(c, w)
    for name in c["plots"]:
        w(f"![{name.rsplit('-', 3)[0]}]({name})\n")


def _publisher_and_waf(c: dict[str, Any], w: Any) -> None:
    p = c["params"]
    refresh = c["at_target"]["scenarios"]["refresh"]["detail"]
    limit = p.get("waf_rate_limit_per_5min")
    w("### The publisher and the web ACL's rate limit\n")
    w(
        f"A deploy-wide refresh fetches {c['at_target']['publish_rps']:,.0f} pages/s ({p['publish_concurrency']} at a "
        f"time, {p['publish_fetch_s'] * 1000:.0f} ms each) from the load balancer inside the VPC: they load the web "
        "origin (in the table above) and reach neither CloudFront nor its web ACL, so the ACL's per-IP rate-based "
        f"rule ({f'{limit:,.0f}' if limit else 'none in this stage'} per 5 minutes) counts "
        f"**{refresh.get('waf_publisher_requests_per_5min', 0):,.0f}** of them: a full republish is never "
        "rate-limited. Issue 11's design fetched through the distribution (every fetch through the ACL, from "
        "Lambda's shared addresses): at the same pace it sent "
        f"{c['at_target']['publish_rps'] * 300:,.0f} per 5 minutes, worst case from one address, which the "
        "comparison below shows breaking its refresh at any audience.\n"
    )


def _rate(point: float | None) -> str:
    return f"{point:,.0f}" if point else "more than 1,000,000"


def _designs(c: dict[str, Any], w: Any) -> None:
    w("### The design, against the options it was weighed against\n")
    w(
        "Same inputs, other edge paths: the shipped origin group with no function (s3_origin_group; the publisher "
        "inside the VPC), issue 11's design (the same group with a routing origin-request function, the publisher "
        "fetching through the distribution and its web ACL), and a function that reads S3 and generates the "
        "response (the design before, and the talk's; the publisher through the distribution too), each with "
        "Origin Shield where prod has it, where issue 11 put it for its function, in the stage region (shared "
        "with the chat API), or off. With Origin Shield, origin-facing Lambda@Edge triggers run in the Origin "
        "Shield region (CloudFront Developer Guide, Using Amazon CloudFront Origin Shield: Origin Shield and "
        "Lambda@Edge, https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-shield.html); "
        "without it, at the regional edge caches. The function designs cannot reach a VPC origin (no "
        "origin-facing Lambda@Edge on VPC origins): they are modelled on their own terms, with a web origin "
        "reachable over the internet. The routing function's duration: "
        f"{c['sources'].get('function_ms', 'assumed')}. A reading function's duration adds S3's first byte "
        f"({c['s3_first_byte_ms']:.0f} ms, the low end of S3's 'roughly 100-200 ms') and the round trip from where "
        f"it runs to the bucket: {c['rtt_source']}.\n"
    )
    w("Where each design first breaks, per scenario (page views/s, and the limit):\n")
    w(
        "| edge path | function ms | other functions' concurrency | "
        + " | ".join(SCENARIOS)
        + " | Lambda alone: steady / refresh / new distribution / after `/*` |"
    )
    w("|---|---|---|" + "---|" * len(SCENARIOS) + "---|")
    for name, v in c["variants"].items():
        cells = [_design_cell(v, n) for n in SCENARIOS]
        ms = f"{v['function_ms']:.3g}" if v["function_ms"] is not None else "none"
        other = f"{v['other_concurrency']:,.0f}" if v["other_concurrency"] is not None else "-"
        lam = v["lambda_breaks_at"]
        alone = (
            " / ".join(_rate(lam[n]) for n in ("steady", "refresh", "new_distribution", "all_cold"))
            if lam
            else "no function"
        )
        w(f"| {name} | {ms} | {other} | " + " | ".join(cells) + f" | {alone} |")
    w("")


def _design_cell(variant: dict[str, Any], scenario: str) -> str:
    point = variant["breaks_at"][scenario]
    if not point:
        return "> 1M"
    # The search starts at 100 page views/s: broken there is broken whatever the audience (a limit that does not
    # grow with it, such as the publisher's requests against a per-IP rate rule).
    shown = "at any rate" if point <= 100 else f"{point:,.0f}"
    return f"{shown} ({variant['first_limits'][scenario]})"


def _inputs(c: dict[str, Any], w: Any) -> None:
    w("Parameters and where each comes from:\n")
    w("| parameter | value | source |\n|---|---|---|")
    for key, value in c["params"].items():
        shown = f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
        w(f"| {key} | {shown} | {c['sources'].get(key, 'assumed')} |")
    w("")
    w("Quotas (documented defaults):\n")
    for key, value in c["quotas"].items():
        w(f"- {key} = {value:,}: {c['quota_sources'][key]}")
    w("")
    sim = c["simulation"]
    w(
        f"Model against the event-driven simulation (seed {sim['seed']}, 30,000 page views/s; steady tiers "
        f"with a 2 s TTL so that seconds of simulated time reach steady state; tolerance "
        f"{sim['tolerance']:.0%}, asserted in tests/bench/test_simulation.py):\n"
    )
    w("| figure | simulated | model | difference |\n|---|---|---|---|")
    for name, row in sim["rows"].items():
        w(f"| {name} | {row['simulated']:,.0f} | {row['model']:,.0f} | {row['difference']:+.1%} |")
    w("")


def _cost(r: dict[str, Any], w: Any) -> None:
    cs = r["cost"]
    w("## 6. Cost per stage (USD per month)\n")
    w(
        f"How computed: `bench/cost.py` prices each synthesized template of this run (resource counts and sizes "
        f"read from the templates: NAT gateways, ALB, Fargate task size x min/max tasks, Aurora min/max ACU, "
        f"functions' memory, alarms, keys, secrets, WAF rules) with `bench/prices.json` — prices as of "
        f"{cs['prices_as_of']}; {cs['prices_status']}. Idle = no traffic all month. Load = "
        + ", ".join(
            f"{k}={v:,.4g}"
            if isinstance(v, float)
            else f"{k}={v:,}"
            if isinstance(v, int) and not isinstance(v, bool)
            else f"{k}={v}"
            for k, v in cs["load"].items()
        )
        + ".\n"
    )
    for stage, data in cs["stages"].items():
        w(f"### {stage}: idle {_usd(data['idle'])}, at load {_usd(data['load'])}\n")
        w("| stack | region | item | idle | at load |\n|---|---|---|---|---|")
        for stack, sd in data["stacks"].items():
            for item, v in sd["items"].items():
                w(f"| {stack} | {sd['region']} | {item} | {_usd(v['idle'])} | {_usd(v['load'])} |")
        w("")


def _tune(r: dict[str, Any], w: Any) -> None:
    t = r.get("tune")
    if t:
        source = f" (from `make tune`, {t['date']}, [report](tune-{t['date']}.md))" if t.get("from_file") else ""
        tune_section(t, w, heading="##", title=f"7. Memory per function{source}")


if __name__ == "__main__":
    path = Path(sys.argv[1])
    report = json.loads(path.read_text())
    text = render(report)
    path.with_suffix(".md").write_text(text)
    (path.parent / "latest.md").write_text(text)
