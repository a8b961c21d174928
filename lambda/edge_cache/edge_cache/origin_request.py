"""Origin-request Lambda@Edge: answer from the S3 cache when the page is there, else pass to the web origin.

Lambda@Edge has no environment variables, so the settings arrive with every request as custom headers of
the web origin (set by the distribution at deploy time, when the bucket's generated name is known).
The cache must never cause an error: any S3 failure, timeout or oversized object goes to the origin.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from edge_cache.keys import cache_key
from edge_cache.store import CachedObject, CacheUnavailable, S3Store, client_for

# Origin custom headers that carry the configuration (CloudFront lower-cases the keys in the event).
BUCKET_HEADER = "x-page-cache-bucket"
REGION_HEADER = "x-page-cache-region"
TIMEOUT_HEADER = "x-page-cache-timeout-ms"
CONFIG_HEADERS = (BUCKET_HEADER, REGION_HEADER, TIMEOUT_HEADER)
# A response generated at origin request is capped at 1 MB, headers included (Lambda@Edge quota).
GENERATED_RESPONSE_LIMIT = 1_000_000
_HEADER_ALLOWANCE = 8_000
BODY_LIMIT = GENERATED_RESPONSE_LIMIT - _HEADER_ALLOWANCE
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class Store(Protocol):
    def get(self, key: str, *, max_bytes: int) -> CachedObject | None: ...


def _header(headers: dict[str, list[dict[str, str]]], name: str) -> str | None:
    values = headers.get(name)
    return values[0]["value"] if values else None


def _to_origin(request: dict[str, Any]) -> dict[str, Any]:
    """The request for the web origin, without the cache's configuration headers."""
    custom = request.get("origin", {}).get("custom")
    if custom:
        custom["customHeaders"] = {k: v for k, v in custom.get("customHeaders", {}).items() if k not in CONFIG_HEADERS}
    return request


def _response(cached: CachedObject) -> dict[str, Any] | None:
    """A generated 200 response, or None when its encoded body would exceed the cap."""
    body: str
    encoding = "text"
    textual = any(marker in cached.content_type for marker in _TEXT_TYPES)
    try:
        body = cached.body.decode("utf-8") if textual else ""
    except UnicodeDecodeError:
        textual = False
    if not textual:
        body, encoding = base64.b64encode(cached.body).decode("ascii"), "base64"
    if len(body.encode("utf-8")) > BODY_LIMIT:
        return None
    headers = {
        "content-type": [{"key": "Content-Type", "value": cached.content_type}],
        # X-Edge-* and X-Cache are CloudFront's own (a response setting them is rejected with a 502).
        "x-page-cache": [{"key": "X-Page-Cache", "value": "hit"}],
    }
    for name, key, value in (
        ("cache-control", "Cache-Control", cached.cache_control),
        ("etag", "ETag", cached.etag),
        ("last-modified", "Last-Modified", cached.last_modified),
    ):
        if value:
            headers[name] = [{"key": key, "value": value}]
    return {"status": "200", "statusDescription": "OK", "headers": headers, "body": body, "bodyEncoding": encoding}


def decide(request: dict[str, Any], store_for: Callable[[dict[str, str]], Store | None]) -> dict[str, Any]:
    """The generated response for a cache hit, or the request to forward to the web origin."""
    if request.get("method") != "GET" or request.get("querystring"):
        return _to_origin(request)  # the cache holds one copy per path, for reads
    key = cache_key(request.get("uri", ""))
    custom = request.get("origin", {}).get("custom", {})
    settings = {name: _header(custom.get("customHeaders", {}), name) or "" for name in CONFIG_HEADERS}
    store = store_for(settings) if key else None
    if key is None or store is None:
        return _to_origin(request)
    try:
        cached = store.get(key, max_bytes=BODY_LIMIT)
    except CacheUnavailable as error:
        logger.warning(json.dumps({"event": "cache_unavailable", "key": key, "error": str(error)[:300]}))
        return _to_origin(request)
    response = _response(cached) if cached else None
    return response or _to_origin(request)


def s3_store(settings: dict[str, str]) -> Store | None:
    """The store the origin's headers describe; None (no cache) when they are missing or malformed."""
    try:
        timeout_ms = int(settings[TIMEOUT_HEADER] or 1000)
    except ValueError:
        return None
    if not settings[BUCKET_HEADER] or not settings[REGION_HEADER]:
        return None
    return S3Store(bucket=settings[BUCKET_HEADER], client=client_for(settings[REGION_HEADER], timeout_ms))


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request = event["Records"][0]["cf"]["request"]
    try:
        return decide(request, s3_store)
    except Exception:  # the cache must never turn a request into a 5xx
        logger.exception("edge cache failed; forwarding to the origin")
        return _to_origin(request)
