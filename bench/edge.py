"""Origin-request Lambda@Edge: decision time (hit and miss) against S3 on 127.0.0.1, and package size.

Times the real handler with a warm client against moto's S3 (in AWS, add the round trip to the bucket's
region), and `decide` with S3 replaced by memory: the function's own cost, which the < 5 ms goal is about.
Part of `make bench`; alone: `python -m bench.edge [iterations]` prints the figures as JSON.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.handler import percentile
from tests.support.servers import LOCAL_CREDENTIALS, moto_server, restore_env, set_env
from tests.support.synth import ROOT

BUNDLE = ROOT / "lambda" / "edge_cache"
PACKAGE_LIMIT_BYTES = 1_048_576  # Lambda@Edge viewer-side limit is 1 MB; origin-side 50 MB (we hold to 1 MB)
DECISION_P99_LIMIT_MS = 5.0  # the function's own cost per request, without the S3 round trip


def package_size(bundle: Path) -> dict[str, int]:
    """Zip of the bundle folder as `Code.from_asset` would stage it (no caches, no tests)."""
    buffer = io.BytesIO()
    raw = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(bundle.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(bundle))
                raw += path.stat().st_size
    return {"zip_bytes": len(buffer.getvalue()), "raw_bytes": raw}


def run(iterations: int) -> dict[str, Any]:
    result: dict[str, Any] = {"bundle": str(BUNDLE.relative_to(ROOT)), **package_size(BUNDLE)}
    result["package_under_1mb"] = result["zip_bytes"] < PACKAGE_LIMIT_BYTES
    result.update(_timings(BUNDLE, iterations))
    return result


def _timings(bundle: Path, iterations: int) -> dict[str, Any]:
    sys.path.insert(0, str(bundle))
    import boto3

    from edge_cache.origin_request import decide, handler  # type: ignore[import-not-found]
    from edge_cache.store import CachedObject  # type: ignore[import-not-found]
    from tests.support.cloudfront_events import origin_request  # type: ignore[import-not-found]

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out: dict[str, Any] = {"iterations": iterations}
    with moto_server() as endpoint:
        previous = set_env({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL_S3": endpoint})
        try:
            s3 = boto3.client("s3", region_name="eu-west-1")
            s3.create_bucket(Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            page = b"<html>" + b"x" * 50_000 + b"</html>"  # a 50 kB page
            s3.put_object(Bucket="bench", Key="pages/news/today", Body=page, ContentType="text/html")
            for label, uri in (("hit", "/news/today"), ("miss", "/news/tomorrow")):
                samples = []
                for i in range(iterations + 20):
                    event = origin_request(uri, bucket="bench")
                    start = time.perf_counter()
                    response = handler(event, None)
                    if i >= 20:
                        samples.append(time.perf_counter() - start)
                assert ("status" in response) == (label == "hit"), response
                out[f"{label}_with_local_s3_p50_ms"] = percentile(samples, 0.5) * 1000
                out[f"{label}_with_local_s3_p99_ms"] = percentile(samples, 0.99) * 1000
        finally:
            restore_env(previous)
            os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    cached = CachedObject(page, "text/html", "max-age=60", '"etag"', "Sun, 22 Nov 2026 08:00:00 GMT")

    class Memory:
        def get(self, key: str, *, max_bytes: int) -> Any:
            return cached if key == "pages/news/today" else None

    for label, uri in (("hit", "/news/today"), ("miss", "/news/tomorrow")):
        samples = []
        for _ in range(iterations):
            request = origin_request(uri, bucket="bench")["Records"][0]["cf"]["request"]
            start = time.perf_counter()
            decide(request, lambda _settings: Memory())
            samples.append(time.perf_counter() - start)
        out[f"{label}_decision_p50_ms"] = percentile(samples, 0.5) * 1000
        out[f"{label}_decision_p99_ms"] = percentile(samples, 0.99) * 1000
    out["decision_p99_under_5ms"] = max(out["hit_decision_p99_ms"], out["miss_decision_p99_ms"]) < DECISION_P99_LIMIT_MS
    return out


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300), indent=2))
