"""Origin-request Lambda@Edge: decision time (hit and miss) against S3 on 127.0.0.1, and package size.

Runs when the edge function's bundle exists (lambda/edge_cache after the Edge stack is merged) and reports
why it skipped otherwise. Timing follows the Edge engineer's scripts/bench_edge_origin_request.py: the real
handler with a warm client against moto's S3, and `decide` with S3 replaced by memory (the function's own
cost, which is what the < 5 ms goal is about).
"""

from __future__ import annotations

import io
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

CANDIDATES = ("edge_cache", "edge_origin_request")
PACKAGE_LIMIT_BYTES = 1_048_576  # Lambda@Edge viewer-side limit is 1 MB; origin-side 50 MB (we hold to 1 MB)


def bundle_dir() -> Path | None:
    for name in CANDIDATES:
        if (ROOT / "lambda" / name).is_dir():
            return ROOT / "lambda" / name
    return None


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
    bundle = bundle_dir()
    if bundle is None:
        return {"skipped": f"no edge function bundle (looked for lambda/{{{','.join(CANDIDATES)}}}): not merged yet"}
    result: dict[str, Any] = {"bundle": str(bundle.relative_to(ROOT)), **package_size(bundle)}
    result["package_under_1mb"] = result["zip_bytes"] < PACKAGE_LIMIT_BYTES
    try:
        result.update(_timings(bundle, iterations))
    except (ImportError, AttributeError, TypeError, KeyError) as error:
        result["timing_skipped"] = f"edge function API differs from what this benchmark expects: {error!r}"
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
    out["decision_p99_under_5ms"] = max(out["hit_decision_p99_ms"], out["miss_decision_p99_ms"]) < 5
    return out
