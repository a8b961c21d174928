"""Origin-request Lambda@Edge: the decision's time per request, and the package size.

Times the real handler on CloudFront events (lambda/edge_cache origin_request.py): a page it sends on to the
bucket, a request it sends straight to the web origin, a failover request it lets through. The function reads
nothing, so this is its whole work per invocation (Lambda's own overhead per invocation comes on top, and
is not measured here). The capacity model takes the p99 as the function's duration. Part of `make bench`;
alone: `python -m bench.edge [iterations]` prints the figures as JSON.
"""

from __future__ import annotations

import copy
import io
import json
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.handler import percentile
from tests.support.synth import ROOT

BUNDLE = ROOT / "lambda" / "edge_cache"
PACKAGE_LIMIT_BYTES = 1_048_576  # Lambda@Edge viewer-side limit is 1 MB; origin-side 50 MB (we hold to 1 MB)
DECISION_P99_LIMIT_MS = 5.0  # the function's own cost per request
CASES = ("to_bucket", "to_web_origin", "failover")


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
    result.update(_timings(iterations))
    return result


def _timings(iterations: int) -> dict[str, Any]:
    sys.path.insert(0, str(BUNDLE))
    from edge_cache.origin_request import handler  # type: ignore[import-not-found]
    from tests.support.cloudfront_events import to_bucket, to_web_origin

    events = {
        "to_bucket": to_bucket("/news/2026/12/01/a-long-page-path-of-a-news-story"),
        "to_web_origin": to_bucket("/search", querystring="q=cdk&page=2"),
        "failover": to_web_origin("/news/never-published"),
    }
    checks = {
        "to_bucket": lambda r: "s3" in r["origin"],
        "to_web_origin": lambda r: "custom" in r["origin"],
        "failover": lambda r: "custom" in r["origin"],
    }
    out: dict[str, Any] = {"iterations": iterations}
    for case in CASES:
        samples = []
        for i in range(iterations + 50):  # the first 50 warm the interpreter's caches
            event = copy.deepcopy(events[case])
            start = time.perf_counter()
            result = handler(event, None)
            elapsed = time.perf_counter() - start
            if i >= 50:
                samples.append(elapsed)
        assert checks[case](result), (case, result)
        out[f"{case}_p50_ms"] = percentile(samples, 0.5) * 1000
        out[f"{case}_p99_ms"] = percentile(samples, 0.99) * 1000
    out["decision_p99_ms"] = max(out[f"{case}_p99_ms"] for case in CASES)
    out["decision_p99_under_5ms"] = out["decision_p99_ms"] < DECISION_P99_LIMIT_MS
    return out


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000), indent=2))
