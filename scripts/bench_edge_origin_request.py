#!/usr/bin/env python3
"""Latency of one origin-request decision (hit and miss) against moto's S3 on 127.0.0.1.

A measurement, not a test: it times the real handler (event parsing, key normalization, boto3 GetObject,
response building) with a warm client, as a warm Lambda@Edge container would run it. S3 here is local,
so the figures are the function's own cost; in AWS add the round trip to the bucket's region.

    python scripts/bench_edge_origin_request.py [iterations]
"""

from __future__ import annotations

import logging
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda" / "edge_cache")]

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from edge_cache.origin_request import decide, handler  # noqa: E402
from edge_cache.store import CachedObject  # noqa: E402
from tests.support.cloudfront_events import origin_request  # noqa: E402


def _report(label: str, samples: list[float]) -> None:
    samples.sort()
    print(
        f"{label:12}  n={len(samples)}  median={statistics.median(samples):.3f} ms  "
        f"p95={samples[int(0.95 * len(samples)) - 1]:.3f} ms  max={samples[-1]:.3f} ms"
    )


def main(iterations: int = 500) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }
    )
    try:
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        page = b"<html>" + b"x" * 50_000 + b"</html>"  # a 50 kB article page
        s3.put_object(Bucket="bench", Key="pages/news/today", Body=page, ContentType="text/html")
        for label, uri in (("hit", "/news/today"), ("miss", "/news/tomorrow")):
            for _ in range(20):  # warm the client and connection pool
                handler(origin_request(uri, bucket="bench"), None)
            samples = []
            for _ in range(iterations):
                event = origin_request(uri, bucket="bench")
                start = time.perf_counter()
                result = handler(event, None)
                samples.append((time.perf_counter() - start) * 1000)
            assert ("status" in result) == (label == "hit")
            _report(label, samples)
        # The decision's own CPU cost: the same events with the S3 round trip replaced by memory.
        cached = CachedObject(page, "text/html", "max-age=60", '"etag"', "Sun, 22 Nov 2026 08:00:00 GMT")

        class Memory:
            def get(self, key: str, *, max_bytes: int) -> CachedObject | None:
                return cached if key == "pages/news/today" else None

        for label, uri in (("hit, no I/O", "/news/today"), ("miss, no I/O", "/news/tomorrow")):
            samples = []
            for _ in range(iterations):
                request = origin_request(uri, bucket="bench")["Records"][0]["cf"]["request"]
                start = time.perf_counter()
                decide(request, lambda _settings: Memory())
                samples.append((time.perf_counter() - start) * 1000)
            _report(label, samples)
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
