"""Chat API handler: cold start in fresh interpreters, warm per-request latency, and "latest" read cost.

Warm paths run in this process, interleaved request by request, against the same DynamoDB Local tables,
so machine noise hits both alike and a ratio is the handler's own overhead.

python -m bench.handler cold [--bundle PATH] [--runs N]   # the cold-start figures of one bundle, as JSON
python -m bench.handler snapstart [--bundle PATH] [--runs N]   # restored first requests, SnapStart emulated
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.bundles import bundle_dir
from tests.support import lambda_packages
from tests.support.chat_backend import COMMENTS, STATS, ChatBackend, local_chat
from tests.support.events import ROUTES, rest_event
from tests.support.servers import LOCAL_CREDENTIALS
from tests.support.synth import ROOT, Synthesized, read_assembly

BUNDLE = bundle_dir("chat_api")
DUMMY_ENV = {
    "COMMENTS_TABLE": "t",
    "ROOM_TIME_INDEX": "by-room-time",
    "ROOM_POSITION_INDEX": "by-room-position",
    "STATS_TABLE": "s",
    "IDEMPOTENCY_TABLE": "i",
    "CURSOR_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
    "POWERTOOLS_SERVICE_NAME": "chat-bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- cold start ---


def _fresh_import_s(module: str, env: dict[str, str], bundle: Path, *flags: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    argv = [sys.executable, *flags, "-c", code]
    out = subprocess.run(argv, env=env, cwd=bundle, capture_output=True, text=True, check=True, timeout=60)
    return float(out.stdout.strip().splitlines()[-1])


def cold_import(runs: int, bundle: Path = BUNDLE) -> dict[str, Any]:
    """As measured since issue 6: the development venv, tracing off, outside Lambda's environment.

    Median/p90 import time of chat_api.handler and, interleaved, of boto3 alone (the floor of any Python
    handler) and of boto3 plus the X-Ray SDK's recorder (what Powertools' Tracer imports)."""
    env = {**os.environ, **LOCAL_CREDENTIALS, **DUMMY_ENV, "PYTHONPATH": str(bundle), "PYTHONDONTWRITEBYTECODE": ""}
    for module in ("chat_api.handler", "boto3"):  # compile .pyc once, as the deployed package would hold them
        _fresh_import_s(module, env, bundle)
    handler_s, boto3_s, xray_s = [], [], []
    for _ in range(runs):
        handler_s.append(_fresh_import_s("chat_api.handler", env, bundle))
        boto3_s.append(_fresh_import_s("boto3", env, bundle))
        xray_s.append(_fresh_import_s("boto3, aws_xray_sdk.core", env, bundle))
    return {
        "runs": runs,
        "handler_median_ms": statistics.median(handler_s) * 1000,
        "handler_p90_ms": percentile(handler_s, 0.9) * 1000,
        "boto3_median_ms": statistics.median(boto3_s) * 1000,
        "boto3_xray_median_ms": statistics.median(xray_s) * 1000,
        "ratio_handler_to_boto3": statistics.median(handler_s) / statistics.median(boto3_s),
        "top_imports": top_imports(_importtime(env, bundle)),
    }


def _importtime(env: dict[str, str], bundle: Path, *flags: str) -> str:
    return subprocess.run(
        [sys.executable, *flags, "-X", "importtime", "-c", "import chat_api.handler"],
        env=env,
        cwd=bundle,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stderr


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def top_imports(stderr: str, count: int = 12) -> list[dict[str, Any]]:
    """The slowest modules of `python -X importtime` by cumulative time, with their nesting depth."""
    rows = []
    for match in _IMPORTTIME.finditer(stderr):
        cumulative, depth, name = int(match[2]), (len(match[3]) - 1) // 2, match[4]
        if name != "chat_api.handler" and depth <= 3:
            rows.append({"module": name, "depth": depth, "cumulative_ms": cumulative / 1000})
    return sorted(rows, key=lambda row: -row["cumulative_ms"])[:count]


_COLD_REQUEST = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import chat_api.handler as h
t1, c1 = time.perf_counter(), time.process_time()
class Context:
    function_name, function_version, memory_limit_in_mb, aws_request_id = "chat-api", "$LATEST", 512, "r1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:chat-api"
    log_group_name, log_stream_name = "/aws/lambda/chat-api", "s"
    def get_remaining_time_in_millis(self): return 10000
response = h.handler(json.loads(sys.argv[1]), Context())
t2, c2 = time.perf_counter(), time.process_time()
assert response["statusCode"] == 200, response
times = {"import_s": t1 - t0, "first_request_s": t2 - t1, "import_cpu_s": c1 - c0, "first_request_cpu_s": c2 - c1}
print(json.dumps(times))
"""
_COLD_FLOOR = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import boto3
t1, c1 = time.perf_counter(), time.process_time()
boto3.client("dynamodb").get_item(TableName=sys.argv[1], Key={"pk": {"S": sys.argv[2]}})
t2, c2 = time.perf_counter(), time.process_time()
times = {"import_s": t1 - t0, "first_request_s": t2 - t1, "import_cpu_s": c1 - c0, "first_request_cpu_s": c2 - c1}
print(json.dumps(times))
"""


@contextmanager
def _as_lambda(synth: Synthesized, bundle: Path) -> Iterator[tuple[ChatBackend, dict[str, str], str, list[str]]]:
    """DynamoDB Local with a room of 30 comments and its view; the function's environment as the handler tests
    give the deployed function, tracing on (an X-Ray daemon socket that listens), and only the packages Lambda
    provides importable (tests/support/lambda_packages.py): the folders of that import path."""
    with _quiet_backend(synth) as chat, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as xray_daemon:
        xray_daemon.bind(("127.0.0.1", 0))
        room = _seed_room(chat, comments=30)
        paths = lambda_packages.import_path(bundle, [lambda_packages.POWERTOOLS_LAYER])
        env = {
            **chat.api.environment.variables(),
            "PYTHONPATH": os.pathsep.join(paths),  # the probes' way to the worker's sys.path (-S, not -I)
            "LAMBDA_TASK_ROOT": str(bundle),
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{xray_daemon.getsockname()[1]}",
            "PYTHONDONTWRITEBYTECODE": "",
        }
        yield chat, env, room, paths


def lambda_cold(synth: Synthesized, runs: int, bundle: Path = BUNDLE) -> dict[str, Any]:
    """Cold start as Lambda runs the function: only the runtime's and the layer's packages importable (the
    folders `make setup` installs, tests/support/lambda_packages.py), the environment the handler tests give
    the deployed function (its template's, Lambda's own, the emulators' endpoints; a sampled trace header),
    tracing on as deployed, no site packages. Each fresh interpreter imports the handler and serves one
    `GET /rooms/{room}/comments` against DynamoDB Local; interleaved with interpreters that import boto3,
    create a DynamoDB client and make one GetItem (the floor of any DynamoDB handler's first request)."""
    with _as_lambda(synth, bundle) as (chat, env, room, paths):
        event = json.dumps(rest_event("GET", ROUTES["rooms"], {"room": room}))
        floor_args = [chat.tables[STATS], f"latest#{room}"]

        def one(code: str, *args: str) -> dict[str, float]:
            out = subprocess.run(
                [sys.executable, "-S", "-c", code, *args],
                env=env,
                cwd=bundle,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
            if out.returncode:
                raise RuntimeError(f"cold-start probe failed:\n{out.stderr[-3000:]}")
            return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

        one(_COLD_REQUEST, event), one(_COLD_FLOOR, *floor_args)  # compile .pyc once, as a package holds them
        handler, floor, boto3_s = [], [], []
        for _ in range(runs):
            handler.append(one(_COLD_REQUEST, event))
            floor.append(one(_COLD_FLOOR, *floor_args))
            boto3_s.append(_fresh_import_s("boto3", env, bundle, "-S"))
        imports = top_imports(_importtime(env, bundle, "-S"))
        packages = sorted(
            p.name
            for folder in paths[1:]
            for p in Path(folder).iterdir()
            if not p.name.startswith("__") and not p.name.endswith(".dist-info") and p.name != "bin"
        )

    return {"runs": runs, "packages": packages, **_cold_ratios(handler, floor, boto3_s), "top_imports": imports}


def _cold_ratios(
    handler: list[dict[str, float]], floor: list[dict[str, float]], boto3_s: list[float]
) -> dict[str, Any]:
    """Medians and ratios of the interleaved cold runs: the handler's, the floor's, the bare boto3 imports."""

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows) * 1000

    def total(row: dict[str, float], clock: str = "") -> float:
        return row[f"import{clock}_s"] + row[f"first_request{clock}_s"]

    def spread(pairs: list[float]) -> list[float]:  # p10 and p90 of the ratios of runs made side by side
        return [percentile(pairs, 0.1), percentile(pairs, 0.9)]

    handler_import, boto3_import = med(handler, "import_s"), statistics.median(boto3_s) * 1000
    handler_total = statistics.median(total(r) for r in handler) * 1000
    floor_total = statistics.median(total(r) for r in floor) * 1000
    cpu_total, floor_cpu_total = (statistics.median(total(r, "_cpu") for r in rows) for rows in (handler, floor))
    return {
        "handler_import_median_ms": handler_import,
        "handler_first_request_median_ms": med(handler, "first_request_s"),
        "handler_import_and_first_request_median_ms": handler_total,
        "boto3_import_median_ms": boto3_import,
        "floor_import_and_first_request_median_ms": floor_total,
        "ratio_import_to_boto3": handler_import / boto3_import,
        "ratio_cold_request_to_floor": handler_total / floor_total,
        "ratio_import_to_boto3_runs_p10_p90": spread(
            [h["import_s"] / b for h, b in zip(handler, boto3_s, strict=True)]
        ),
        "ratio_cold_request_to_floor_runs_p10_p90": spread(
            [total(h) / total(f) for h, f in zip(handler, floor, strict=True)]
        ),
        # CPU time of the interpreter (what a loaded machine's preemption does not add to): the floor's
        # import is the bare boto3 import.
        "handler_import_cpu_median_ms": med(handler, "import_cpu_s"),
        "floor_import_cpu_median_ms": med(floor, "import_cpu_s"),
        "ratio_import_to_boto3_cpu": med(handler, "import_cpu_s") / med(floor, "import_cpu_s"),
        "ratio_cold_request_to_floor_cpu": cpu_total / floor_cpu_total,
    }


# SnapStart emulated: the init runs once (import, then the before-snapshot hooks as the runtime runs them),
# then each forked child is a restored environment: the snapshot's random state (fork's own re-seed undone),
# the after-restore hooks, and one first request, timed from the fork, with the memory pages it first writes
# (the child's minor page faults: copy-on-write of the snapshot's pages, or new ones). The floor: boto3 imported and a
# DynamoDB client created before the "snapshot" (its pooled connections closed), one GetItem after it.
_SNAPSTART = """
import json, os, random, resource, sys, time
kind, per_round = sys.argv[1], int(sys.argv[3])
if kind == "handler":
    import snapshot_restore_py
    import chat_api.handler as h
    from chat_api.handler import handler
    class Context:
        function_name, function_version, memory_limit_in_mb, aws_request_id = "chat-api", "1", 512, "r1"
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:chat-api:live"
        log_group_name, log_stream_name = "/aws/lambda/chat-api", "s"
        def get_remaining_time_in_millis(self): return 10000
    event = json.loads(sys.argv[2])
    while snapshot_restore_py.get_before_snapshot():
        hook, args, kwargs = snapshot_restore_py.get_before_snapshot().pop()
        hook(*args, **kwargs)
    def first_request():
        for hook, args, kwargs in snapshot_restore_py.get_after_restore():
            hook(*args, **kwargs)
        assert handler(event, Context())["statusCode"] == 200
else:
    import boto3
    table, key = json.loads(sys.argv[2])
    client = boto3.client("dynamodb")
    client.close()
    def first_request():
        client.get_item(TableName=table, Key={"pk": {"S": key}})
state, times = random.getstate(), []
for _ in range(per_round):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0, c0 = time.perf_counter(), time.process_time()
        random.setstate(state)
        first_request()
        t1, c1 = time.perf_counter(), time.process_time()
        pages = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        os.write(write, json.dumps([t1 - t0, c1 - c0, pages]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        times.append(json.loads(pipe.read()))
    assert os.waitpid(pid, 0)[1] == 0
print(json.dumps(times))
"""


def snapstart_emulated(synth: Synthesized, rounds: int, per_round: int = 5, bundle: Path = BUNDLE) -> dict[str, Any]:
    """A restored environment's first request, SnapStart emulated with fork() as Lambda runs the function
    (its packages only, tracing on), against the same emulated restore of a bare boto3 client's GetItem.
    What fork() cannot stand for (the snapshot's restore from Lambda's cache) is not in either figure."""
    with _as_lambda(synth, bundle) as (chat, env, room, _):
        event = json.dumps(rest_event("GET", ROUTES["rooms"], {"room": room}))
        floor_args = json.dumps([chat.tables[STATS], f"latest#{room}"])

        def probe(kind: str, argument: str) -> list[list[float]]:
            argv = [sys.executable, "-S", "-c", _SNAPSTART, kind, argument, str(per_round)]
            out = subprocess.run(argv, env=env, cwd=bundle, capture_output=True, text=True, check=False, timeout=300)
            if out.returncode:
                raise RuntimeError(f"SnapStart probe failed:\n{out.stderr[-3000:]}")
            return [
                [wall * 1000, cpu * 1000, pages] for wall, cpu, pages in json.loads(out.stdout.strip().splitlines()[-1])
            ]

        handler: list[list[float]] = []
        floor: list[list[float]] = []
        for _ in range(rounds):
            handler += probe("handler", event)
            floor += probe("floor", floor_args)

    def figures(clock: int) -> dict[str, Any]:
        ours, base = [h[clock] for h in handler], [f[clock] for f in floor]
        pairs = sorted(h / f for h, f in zip(ours, base, strict=True))
        return {
            "handler_first_request_median_ms": statistics.median(ours),
            "handler_first_request_p90_ms": percentile(ours, 0.9),
            "floor_first_request_median_ms": statistics.median(base),
            "floor_first_request_p90_ms": percentile(base, 0.9),
            "ratio_restored_request_to_floor": statistics.median(ours) / statistics.median(base),
            "ratio_pairs_p10_p90": [percentile(pairs, 0.1), percentile(pairs, 0.9)],
        }

    # Pages first written: no noise from the machine's load; SnapStart loads a restored environment's memory from
    # the snapshot as it is touched, which fork()'s copy-on-write only stands for (docs/benchmarks.md).
    pages = {
        "handler_first_request_median": statistics.median(h[2] for h in handler),
        "floor_first_request_median": statistics.median(f[2] for f in floor),
    }
    pages["ratio"] = pages["handler_first_request_median"] / pages["floor_first_request_median"]
    return {"restores": len(handler), "wall": figures(0), "cpu": figures(1), "pages": pages}


def _seed_room(chat: ChatBackend, comments: int, room: str | None = None, chars: int = 60) -> str:
    """A room with `comments` comments posted through the handler and its view built by the consumer."""
    room = room or f"bench-{uuid.uuid4().hex[:8]}"
    tap = chat.tap()
    for i in range(comments):
        text = (f"comment {i} " + "so good what a play " * 10)[:chars]
        status, _ = chat.post(room, f"user{i % 7}", text, i)
        assert status == 201
    records = tap.records()
    for start in range(0, len(records), 100):
        assert chat.consume(records[start : start + 100]).result == {"batchItemFailures": []}
    return room


# --- warm requests ---


@contextmanager
def _quiet_backend(synth: Synthesized) -> Iterator[ChatBackend]:
    """The sandbox chat functions as the handler tests run them (tests/support/chat_backend.py)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with local_chat(synth, "sandbox/Chat") as chat:
        yield chat


def warm_requests(synth: Synthesized, requests: int, comments: int = 20) -> dict[str, Any]:
    """p50/p99 of GET /rooms/{room}/comments?all=true (one index page) through the deployed handler, timed
    inside its worker process around the handler call (what Lambda reports as Duration), vs the same Query
    with bare boto3 in this process."""
    with _quiet_backend(synth) as chat:
        room = f"bench-{uuid.uuid4().hex[:8]}"
        for i in range(comments):
            chat.post(room, f"user{i % 5}", f"comment {i} " + "x" * 80, i)
        bare = chat.dynamodb
        query = {
            "TableName": chat.tables[COMMENTS],
            "IndexName": chat.api_settings["ROOM_TIME_INDEX"],
            "KeyConditionExpression": "chat_room = :room",
            "ExpressionAttributeValues": {":room": {"S": room}},
            "ScanIndexForward": False,
            "Limit": comments + 1,  # the handler reads one more to know whether a next page exists
        }
        event = rest_event("GET", ROUTES["rooms"], {"room": room}, query={"all": "true", "limit": str(comments)})
        through, direct = [], []
        for i in range(requests + 20):  # the first 20 of each warm up connections and caches
            invocation = chat.api.invoke(event)
            t1 = time.perf_counter()
            items = bare.query(**query)["Items"]
            t2 = time.perf_counter()
            if i >= 20:
                through.append(invocation.duration_ms / 1000)
                direct.append(t2 - t1)
        response = invocation.result
        assert response["statusCode"] == 200
        assert len(json.loads(response["body"])["comments"]) == len(items) == comments
    return {
        "requests": requests,
        "items_per_response": comments,
        "handler_p50_ms": percentile(through, 0.5) * 1000,
        "handler_p99_ms": percentile(through, 0.99) * 1000,
        "boto3_p50_ms": percentile(direct, 0.5) * 1000,
        "boto3_p99_ms": percentile(direct, 0.99) * 1000,
        "ratio_p50": percentile(through, 0.5) / percentile(direct, 0.5),
        "ratio_p99": percentile(through, 0.99) / percentile(direct, 0.99),
    }


# --- "latest": read cost and latency, index (before) vs the stream-kept view (after) ---


class _Capacity:
    """Adds ReturnConsumedCapacity=TOTAL to a client's reads and sums what DynamoDB reports."""

    def __init__(self, client: Any) -> None:
        self.units = 0.0
        self.calls = 0
        client.meta.events.register("provide-client-params.dynamodb.*", self._ask)
        client.meta.events.register("after-call.dynamodb.*", self._add)

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("GetItem", "Query", "BatchGetItem"):
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _add(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name not in ("GetItem", "Query", "BatchGetItem"):
            return
        self.calls += 1
        consumed = parsed.get("ConsumedCapacity") or []
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            self.units += float(entry.get("CapacityUnits", 0))


def _sample_latest(
    paths: dict[str, Any], capacity: _Capacity, room: str, requests: int
) -> dict[str, dict[str, list[float]]]:
    """Each path's latency, read units and calls per "latest 25" read, interleaved request by request after 20
    warm-up rounds; every path must answer the same 25 comments."""
    samples: dict[str, dict[str, list[float]]] = {p: {"ms": [], "units": [], "calls": []} for p in paths}
    bodies: dict[str, Any] = {}
    for i in range(requests + 20):
        for path, service in paths.items():
            units, calls = capacity.units, capacity.calls
            t0 = time.perf_counter()
            body, _ = service.latest(room, 25)
            elapsed = time.perf_counter() - t0
            if i >= 20:
                samples[path]["ms"].append(elapsed * 1000)
                samples[path]["units"].append(capacity.units - units)
                samples[path]["calls"].append(capacity.calls - calls)
            bodies[path] = body
    assert bodies["index"] == bodies["view"] == bodies["behind"] and len(bodies["view"]["comments"]) == 25
    return samples


def latest_reads(synth: Synthesized, requests: int, shard_counts: tuple[int, ...]) -> dict[str, Any]:
    """Per "latest 25" read, through the API's service and repository in this process (the handler's own
    routing is in warm_requests): read units DynamoDB Local reports, DynamoDB calls and latency, per shard
    count, interleaved request by request, for one room in three ways: "index" (the index query every
    request made before the view), "view" (the view the stream consumer keeps), "behind" (the view's
    GetItem, then the index: a view that is missing, incomplete or behind)."""
    if str(BUNDLE) not in sys.path:  # the bundle's modules, imported into this process
        sys.path.insert(0, str(BUNDLE))
    from chat_api.cursor import CursorCodec
    from chat_api.domain import CommentService
    from chat_api.entities import Comment
    from chat_api.repository import DynamoCommentRepository

    class IndexOnly(DynamoCommentRepository):
        def room_latest(self, room: str, limit: int) -> tuple[list[Comment], str]:
            return self.room_newest_first(room, limit, None).comments, "index"

    results = []
    with _quiet_backend(synth) as chat:
        codec = CursorCodec(chat.cursor_key())
        for shards in shard_counts:
            repo_args = {
                "table": chat.tables[COMMENTS],
                "room_time_index": chat.api_settings["ROOM_TIME_INDEX"],
                "room_position_index": chat.api_settings["ROOM_POSITION_INDEX"],
                "stats_table": chat.tables[STATS],
                "shards": shards,
            }
            client = chat.dynamodb
            capacity = _Capacity(client)
            paths = {
                "index": CommentService(IndexOnly(client, **repo_args), lambda: codec),
                "view": CommentService(DynamoCommentRepository(client, **repo_args), lambda: codec),
                "behind": CommentService(
                    DynamoCommentRepository(client, **repo_args, view_max_lag_ms=-1), lambda: codec
                ),
            }
            room = _seed_room(chat, comments=200)
            samples = _sample_latest(paths, capacity, room, requests)
            for path, s in samples.items():
                results.append(
                    {
                        "shards": shards,
                        "path": path,
                        "read_units_per_request": statistics.mean(s["units"]),
                        "calls_per_request": statistics.mean(s["calls"]),
                        "p50_ms": percentile(s["ms"], 0.5),
                        "p99_ms": percentile(s["ms"], 0.99),
                    }
                )
    return {"requests": requests, "comments_in_room": 200, "rows": results}


def baseline_bundle(rev: str, dest: Path) -> Path | None:
    """chat/runtime/chat_api as of git revision `rev`, extracted into `dest`; None when the history lacks it."""
    for folder in ("chat/runtime/chat_api", "lambda/chat_api"):  # where it is; where it was before issue 22
        archive = subprocess.run(
            ["git", "archive", rev, folder], cwd=ROOT, capture_output=True, check=False, timeout=60
        )
        if archive.returncode == 0:
            dest.mkdir(parents=True, exist_ok=True)
            subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True, timeout=60)
            return dest / folder
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["cold", "snapstart"])
    parser.add_argument("--bundle", type=Path, default=BUNDLE, help="a chat/runtime/chat_api folder (e.g. of main)")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--cdk-out", type=Path, default=ROOT / "cdk.out", help="synthesized app (make synth)")
    args = parser.parse_args()
    synth = read_assembly(args.cdk_out)
    work = Path(tempfile.mkdtemp(prefix="cold-"))
    try:
        bundle = work / "chat_api"
        shutil.copytree(args.bundle, bundle, ignore=shutil.ignore_patterns("__pycache__"))
        if args.what == "snapstart":
            result = {"snapstart": snapstart_emulated(synth, args.runs, bundle=bundle)}
        else:
            result = {"as_today": cold_import(args.runs, bundle), "lambda": lambda_cold(synth, args.runs, bundle)}
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
