"""Chat API handler: cold import in fresh interpreters, and warm per-request latency against bare boto3.

Both request paths run in this process, interleaved request by request, against the same DynamoDB Local
table, so machine noise hits both alike and the ratio is the handler's own overhead (Powertools
resolver, validation, logging, metrics, domain, JSON) over the one DynamoDB query it makes.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import boto3

from tests.support.chat_backend import COMMENTS, IDEMPOTENCY, STATS
from tests.support.events import ROUTES, FakeLambdaContext, rest_event
from tests.support.servers import (
    LOCAL_CREDENTIALS,
    create_tables_from_template,
    dynamodb_local,
    moto_server,
    restore_env,
    set_env,
)
from tests.support.synth import ROOT

BUNDLE = ROOT / "lambda" / "chat_api"
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


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _fresh_import_s(module: str, env: dict[str, str]) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BUNDLE, capture_output=True, text=True, check=True, timeout=60
    )
    return float(out.stdout.strip().splitlines()[-1])


def cold_import(runs: int) -> dict[str, Any]:
    """Median/p90 import time of chat_api.handler and, interleaved, of boto3 alone (the floor of any Python
    handler) and of boto3 plus the X-Ray SDK's recorder (what Powertools' Tracer imports)."""
    env = {**os.environ, **LOCAL_CREDENTIALS, **DUMMY_ENV, "PYTHONPATH": str(BUNDLE), "PYTHONDONTWRITEBYTECODE": ""}
    for module in ("chat_api.handler", "boto3"):  # compile .pyc once, as the deployed package would hold them
        _fresh_import_s(module, env)
    handler_s, boto3_s, xray_s = [], [], []
    for _ in range(runs):
        handler_s.append(_fresh_import_s("chat_api.handler", env))
        boto3_s.append(_fresh_import_s("boto3", env))
        xray_s.append(_fresh_import_s("boto3, aws_xray_sdk.core", env))
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import chat_api.handler"],
        env=env,
        cwd=BUNDLE,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stderr
    return {
        "runs": runs,
        "handler_median_ms": statistics.median(handler_s) * 1000,
        "handler_p90_ms": percentile(handler_s, 0.9) * 1000,
        "boto3_median_ms": statistics.median(boto3_s) * 1000,
        "boto3_xray_median_ms": statistics.median(xray_s) * 1000,
        "ratio_handler_to_boto3": statistics.median(handler_s) / statistics.median(boto3_s),
        "top_imports": top_imports(importtime),
    }


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def top_imports(stderr: str, count: int = 12) -> list[dict[str, Any]]:
    """The slowest modules of `python -X importtime` by cumulative time, with their nesting depth."""
    rows = []
    for match in _IMPORTTIME.finditer(stderr):
        cumulative, depth, name = int(match[2]), (len(match[3]) - 1) // 2, match[4]
        if name != "chat_api.handler" and depth <= 3:
            rows.append({"module": name, "depth": depth, "cumulative_ms": cumulative / 1000})
    return sorted(rows, key=lambda row: -row["cumulative_ms"])[:count]


def warm_requests(template: dict[str, Any], requests: int, comments: int = 20) -> dict[str, Any]:
    """p50/p99 of GET /rooms/{room}/comments through the handler vs the same Query with bare boto3."""
    sys.path.insert(0, str(BUNDLE))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with (
        open(os.devnull, "w") as devnull,
        redirect_stdout(devnull),
        dynamodb_local() as ddb_endpoint,
        moto_server() as moto_endpoint,
    ):
        previous = set_env(LOCAL_CREDENTIALS)
        try:
            dynamodb = boto3.client("dynamodb", endpoint_url=ddb_endpoint)
            tables = create_tables_from_template(dynamodb, template, f"b{uuid.uuid4().hex[:8]}")
            secret_arn = boto3.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
                Name=f"cursor-{uuid.uuid4().hex[:8]}", SecretString=secrets.token_urlsafe(48)
            )["ARN"]
            previous.update(
                set_env(
                    {
                        **DUMMY_ENV,
                        "AWS_ENDPOINT_URL_DYNAMODB": ddb_endpoint,
                        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_endpoint,
                        "POWERTOOLS_LOG_LEVEL": "WARNING",
                        "POWERTOOLS_METRICS_NAMESPACE": "ChatBench",
                        "COMMENTS_TABLE": tables[COMMENTS],
                        "STATS_TABLE": tables[STATS],
                        "IDEMPOTENCY_TABLE": tables[IDEMPOTENCY],
                        "CURSOR_SECRET_ARN": secret_arn,
                    }
                )
            )
            api = importlib.import_module("chat_api.handler")
            room = f"bench-{uuid.uuid4().hex[:8]}"
            for i in range(comments):
                body = {"name": f"user{i % 5}", "comment": f"comment {i} " + "x" * 80, "position": i}
                api.handler(rest_event("POST", ROUTES["rooms"], {"room": room}, body=body), FakeLambdaContext())
            bare = boto3.client("dynamodb", endpoint_url=ddb_endpoint)
            query = {
                "TableName": tables[COMMENTS],
                "IndexName": DUMMY_ENV["ROOM_TIME_INDEX"],
                "KeyConditionExpression": "chat_room = :room",
                "ExpressionAttributeValues": {":room": {"S": room}},
                "ScanIndexForward": False,
                "Limit": comments,
            }
            event = rest_event("GET", ROUTES["rooms"], {"room": room}, query={"limit": str(comments)})
            context = FakeLambdaContext()
            through, direct = [], []
            for i in range(requests + 20):  # the first 20 of each warm up connections and caches
                t0 = time.perf_counter()
                response = api.handler(event, context)
                t1 = time.perf_counter()
                items = bare.query(**query)["Items"]
                t2 = time.perf_counter()
                if i >= 20:
                    through.append(t1 - t0)
                    direct.append(t2 - t1)
            assert response["statusCode"] == 200
            assert len(json.loads(response["body"])["comments"]) == len(items) == comments
        finally:
            restore_env(previous)
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


def chat_template(outdir: Path) -> dict[str, Any]:
    files = sorted((outdir / "assembly-sandbox").glob("*Chat*.template.json"))
    return json.loads(files[0].read_text())  # type: ignore[no-any-return]
