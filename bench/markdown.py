"""Render a benchmark report (the JSON of bench/run.py) as Markdown.

python -m bench.markdown reports/bench-YYYY-MM-DD.json   # re-render without re-running
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


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
        f"`make bench` took {r['total_s']:.0f} s.\n"
    )
    _goals(r, w)
    for section in (_synth, _tests, _handler, _chat_scale, _edge, _capacity, _cost):
        section(r, w)
    return "\n".join(out) + "\n"


def _goals(r: dict[str, Any], w: Any) -> None:
    w("## Goals\n")
    w("| goal | target | measured | status |\n|---|---|---|---|")
    s, g, met = r["synth"], r["goals"], r["goals_met"]
    w(
        f"| full app synth / trivial synth | <= {g['synth_ratio']}x | {s['ratio_app_to_trivial']:.2f}x "
        f"| {_ok(met['synth_ratio'])} |"
    )
    w(
        f"| same, CDK_VALIDATION=false | <= {g['synth_ratio']}x | {s['ratio_app_to_trivial_no_validation']:.2f}x "
        f"| {_ok(met['synth_ratio_no_validation'])} |"
    )
    t = r.get("tests")
    w(
        f"| test suite / one full synth | <= {g['test_ratio']}x | "
        f"{f'{t["ratio_to_one_synth"]:.2f}x' if t else 'skipped'} | {_ok(met['test_ratio'])} |"
    )
    if t and "ratio_without_slow_marked" in t:
        w(
            f"| same, without the tests marked `slow` | <= {g['test_ratio']}x | "
            f"{t['ratio_without_slow_marked']:.2f}x | {_ok(met.get('test_ratio_without_slow'))} |"
        )
    hw, hc = r["handler_warm"], r["handler_cold"]
    w(
        f"| handler p50 / bare boto3 p50 | <= {g['handler_overhead']}x | {hw['ratio_p50']:.2f}x "
        f"| {_ok(met['handler_overhead'])} |"
    )
    w(
        f"| cold import of chat_api.handler (median) | < {g['cold_import_ms']} ms | "
        f"{hc['handler_median_ms']:.0f} ms | {_ok(met['cold_import'])} |"
    )
    if "cold_import_ratio" in met:
        lam = r["handler_cold_lambda"]["current"]
        w(
            f"| cold import / bare boto3 import (dev venv, as since issue 6) | <= {g['cold_import_ratio']}x | "
            f"{hc['ratio_handler_to_boto3']:.2f}x | {_ok(met['cold_import_ratio'])} |"
        )
        w(
            f"| same, as Lambda runs it (runtime + layer packages, tracing on) | <= {g['cold_import_ratio']}x | "
            f"{lam['ratio_import_to_boto3']:.2f}x | {_ok(met['cold_import_ratio_lambda'])} |"
        )
    e = r["edge"]
    p99 = max(e["hit_decision_p99_ms"], e["miss_decision_p99_ms"])
    w(f"| edge decision p99 (no S3 round trip) | < 5 ms | {p99:.3f} ms | {_ok(met['edge_decision'])} |")
    w(f"| edge package (zip) | < 1 MB | {e['zip_bytes']:,} B | {_ok(met['edge_package'])} |")
    c = r["capacity"]
    w(
        f"| design inside every limit at {c['params']['page_views_per_s']:,.0f} page views/s | all limits | "
        f"exceeded: {', '.join(c['at_target']['limits_exceeded']) or 'none'} | {_ok(met['capacity_at_target'])} |"
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
        w("## 2. Test suite\n")
        w(
            f"How measured: `python -m pytest -q` (the whole suite, as `make test`), one run, wall time "
            f"{t['wall_s']:.0f} s, exit code {t['exit_code']}, {t['counts']}"
            f"{'; failed: ' + ', '.join(f'`{n}`' for n in t.get('failed', [])) if t.get('failed') else ''}. "
            f"One full `app` synth, measured right before ({t.get('synth_before_s', 0):.1f} s) and right after "
            f"({t.get('synth_after_s', 0):.1f} s) the suite, mean {t.get('one_synth_s', 0):.1f} s. "
            "Ratio to one full `app` synth of "
            f"this run: **{t['ratio_to_one_synth']:.2f}x**. Slowest steps (pytest --durations):\n"
        )
        w(
            f"Without the {t.get('slow_marked_tests', 0)} tests marked `slow` (their call time in this run, "
            f"{t.get('slow_marked_call_s', 0):.0f} s, subtracted): **{t.get('ratio_without_slow_marked', 0):.2f}x**.\n"
        )
        w("| s | phase | test |\n|---|---|---|")
        for row in t["slowest"]:
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
            f"- Before (lambda/chat_api at `{r['handler_cold_lambda']['baseline_rev']}`), measured the same way in "
            f"this run: median **{base['handler_median_ms']:.0f} ms**, boto3 alone {base['boto3_median_ms']:.0f} "
            f"ms (ratio {base['ratio_handler_to_boto3']:.2f}x).\n"
        )
    lam = r.get("handler_cold_lambda")
    if lam:
        w(
            "As Lambda runs it — how measured: the same fresh interpreters, but as the function starts in Lambda: "
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
            "| import / boto3 | cold request / floor |"
        )
        w("|---|---|---|---|---|---|---|---|")
        for label, row in (("before", lam.get("baseline")), ("after", lam["current"])):
            if row:
                w(
                    f"| {label} | {row['handler_import_median_ms']:.0f} | {row['handler_first_request_median_ms']:.0f}"
                    f" | {row['handler_import_and_first_request_median_ms']:.0f} | {row['boto3_import_median_ms']:.0f}"
                    f" | {row['floor_import_and_first_request_median_ms']:.0f} | "
                    f"**{row['ratio_import_to_boto3']:.2f}x** | {row['ratio_cold_request_to_floor']:.2f}x |"
                )
        w("")
        w("Largest imports as Lambda runs it (`python -S -X importtime`, cumulative, one run, after):\n")
        w("| module | depth below the handler | cumulative ms |\n|---|---|---|")
        for row in lam["current"]["top_imports"]:
            w(f"| `{row['module']}` | {row['depth']} | {row['cumulative_ms']:.0f} |")
        w("")
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


def _chat_scale(r: dict[str, Any], w: Any) -> None:
    lr, cc = r.get("latest"), r.get("chat_capacity")
    if lr:
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
    if cc:
        w("## 3c. Chat: one hot room at live-event scale (model)\n")
        w(
            "How computed (not measured): `bench/chat_capacity.py` — each comment's write into both room "
            "indexes, spread over the room's shards; the stream consumer's transactions (up to 99 comments and "
            "one counter update each) and its one consistent read and one write of the room's view per batch; "
            "item sizes by DynamoDB's rules, the view item compressed as lambda/chat_stream writes it, with "
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
    load = _latest_load(r)
    if load:
        _load(load, w)


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


def _edge(r: dict[str, Any], w: Any) -> None:
    e = r["edge"]
    w("## 4. Edge function\n")
    w(
        f"How measured: bundle `{e['bundle']}` zipped as staged (no caches): {e['zip_bytes']:,} bytes "
        f"({e['raw_bytes']:,} raw). Decision: `origin_request.handler` with a warm boto3 client against moto's S3 "
        "on 127.0.0.1 (a 50 kB page), and `decide` with S3 replaced by memory (the function's own cost).\n"
    )
    w("| case | p50 ms | p99 ms |\n|---|---|---|")
    for case in ("hit", "miss"):
        w(f"| {case}, local S3 | {e[f'{case}_with_local_s3_p50_ms']:.2f} | {e[f'{case}_with_local_s3_p99_ms']:.2f} |")
        w(f"| {case}, decision only | {e[f'{case}_decision_p50_ms']:.3f} | {e[f'{case}_decision_p99_ms']:.3f} |")
    w("")


def _capacity(r: dict[str, Any], w: Any) -> None:
    c = r["capacity"]
    w("## 5. Capacity at 30,000 page views/s\n")
    w(
        "How computed (not measured): `bench/capacity.py`, an analytical model — Zipf page popularity, Poisson "
        "requests, TTL caches at the edge locations and the regional edge caches (miss rate r/(1+r·TTL) per node), "
        "the origin-request function once per regional miss with one S3 GetObject, pages the publisher keeps in S3 "
        "served from S3 and the rest rendered by the web origin; Lambda concurrency by Little's law. The cold-cache "
        "case is a deploy-wide invalidation: every (page, regional cache) pair misses once in the first 10 s. "
        "Unit tests check the formulas and the TTL-cache formula against a small event simulation.\n"
    )
    w("Parameters and where each comes from:\n")
    w("| parameter | value | source |\n|---|---|---|")
    for key, value in c["params"].items():
        w(f"| {key} | {value:,} | {c['sources'].get(key, 'assumed')} |" if isinstance(value, int | float) else "")
    w("")
    w("Quotas (documented defaults, to re-check): " + ", ".join(f"{k} = {v:,}" for k, v in c["quotas"].items()) + ".\n")
    a = c["at_target"]
    w("| at target | value | share of limit |\n|---|---|---|")
    u = a["utilization"]
    w(f"| overall CloudFront hit ratio | {a['overall_hit_ratio']:.3f} | |")
    w(f"| requests reaching regional caches /s | {a['rec_requests_per_s']:,.0f} | |")
    w(f"| Lambda@Edge invocations/s | {a['edge_invocations_per_s']:,.0f} | |")
    w(
        f"| Lambda@Edge concurrency, busiest region | {a['edge_concurrency_busiest_region']:,.0f} "
        f"| {u['lambda_concurrency']:.2f} |"
    )
    w(f"| after invalidation: invocations/s | {a['cold_edge_invocations_per_s']:,.0f} | |")
    w(
        f"| after invalidation: concurrency, busiest region | {a['cold_edge_concurrency_busiest_region']:,.0f} "
        f"| {u['lambda_cold_burst']:.2f} of the burst allowance |"
    )
    w(f"| S3 GET/s per prefix | {a['s3_get_per_prefix_per_s']:,.0f} | {u['s3_get_per_prefix']:.2f} |")
    w(f"| web origin requests/s | {a['origin_requests_per_s']:,.0f} | {u['origin']:.2f} |")
    w(f"| web origin requests/s after invalidation | {a['cold_origin_requests_per_s']:,.0f} | {u['origin_cold']:.2f} |")
    w(f"| CloudFront requests/s | {c['params']['page_views_per_s']:,.0f} | {u['cloudfront_requests']:.2f} |")
    w("")
    bp = c["breaking_point_page_views_per_s"]
    w(
        f"Where it breaks: with these parameters the first limit is exceeded at "
        f"**{bp:,.0f} page views/s** (steady state only: {c['breaking_point_steady_only'] or 0:,.0f})."
        if bp
        else "No limit is exceeded below 1,000,000 page views/s."
    )
    w("\nTTL sweep at the target rate:\n")
    w("| TTL s | hit ratio | L@E inv/s | L@E conc. (busiest) | S3 GET/s/prefix | origin req/s | exceeded |")
    w("|---|---|---|---|---|---|---|")
    for ttl, b in c["ttl_sweep"].items():
        w(
            f"| {ttl} | {b['overall_hit_ratio']:.3f} | {b['edge_invocations_per_s']:,.0f} | "
            f"{b['edge_concurrency_busiest_region']:,.0f} | {b['s3_get_per_prefix_per_s']:,.0f} | "
            f"{b['origin_requests_per_s']:,.0f} | {', '.join(b['limits_exceeded']) or 'none'} |"
        )
    w("")
    if c["safe_config"]:
        sc = c["safe_config"]
        w(
            f"A config inside every limit at the target (smallest TTL first, then fewest pages pre-filled, then "
            f"fewest prefixes): **TTL {sc['ttl_s']:g} s, publisher keeps {sc['prefilled_pages']:,} pages in S3, "
            f"pages spread over {sc['s3_prefixes']} S3 prefixes** — hit ratio "
            f"{c['safe_config_result']['overall_hit_ratio']:.3f}, origin "
            f"{c['safe_config_result']['origin_requests_per_s']:,.0f} "
            f"req/s; it breaks at {c['safe_config_breaking_point'] or 0:,.0f} page views/s.\n"
        )
    else:
        w("No config in the searched grid stays inside every limit at the target.\n")
    w("For each TTL, the fewest pages the publisher must keep in S3 and the fewest S3 prefixes that stay inside")
    w("every limit at the target, and where that config breaks:\n")
    w("| TTL s | pages in S3 | S3 prefixes | hit ratio | L@E inv/s | origin req/s | breaks at page views/s |")
    w("|---|---|---|---|---|---|---|")
    for ttl, row in c.get("safe_config_per_ttl", {}).items():
        if row is None:
            w(f"| {ttl} | none in the grid | | | | | |")
            continue
        w(
            f"| {ttl} | {row['prefilled_pages']:,} | {row['s3_prefixes']} | {row['overall_hit_ratio']:.3f} | "
            f"{row['edge_invocations_per_s']:,.0f} | {row['origin_requests_per_s']:,.0f} | "
            f"{row['breaks_at_page_views_per_s'] or 0:,.0f} |"
        )
    w("")
    for name in c["plots"]:
        w(f"![{name.rsplit('-', 3)[0]}]({name})\n")


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


if __name__ == "__main__":
    path = Path(sys.argv[1])
    report = json.loads(path.read_text())
    text = render(report)
    path.with_suffix(".md").write_text(text)
    (path.parent / "latest.md").write_text(text)
