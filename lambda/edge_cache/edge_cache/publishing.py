"""Publish one page into the cache: fetch it from the web origin, store it under its cache key. The stored copy
stays in place until the new one replaces it (S3 writes an object whole), so a failed publish changes nothing.

Errors are named for the state machine: it retries RetryableOriginError (throttling, 5xx, network) with
backoff and jitter and records every other failure as a failed path.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from edge_cache.keys import BYPASS_PARAM, cache_key, publish_token

USER_AGENT = "edge-cache-publisher/1"
_NOT_FOUND = (404, 410)
# The web origin admits only CloudFront, so the publisher fetches through the distribution. A query parameter
# unique to each fetch (BYPASS_PARAM) misses CloudFront's caches, and its value is signed with the publish key,
# so the origin-request function sends the fetch straight to the web origin (which must ignore the parameter)
# rather than to the copy in S3.


class InvalidPath(Exception):
    """The path cannot be cached (hostile or not a page path); retrying will not help."""


class RetryableOriginError(Exception):
    """The origin throttled, failed (5xx) or could not be reached; worth another try."""


class UnpublishableResponse(Exception):
    """The origin answered with something that must not be cached (redirects, 4xx other than 404/410)."""


@dataclass(frozen=True)
class Page:
    status: int
    body: bytes
    content_type: str | None
    cache_control: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a redirect's target belongs under its own path, not this one


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch(url: str, *, timeout_s: float) -> Page:
    """GET `url`; HTTP errors come back as a Page with their status, network failures raise."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"origin URLs are http(s) only, got {url[:50]!r}")
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            return Page(
                response.status,
                response.read(),
                response.headers.get("Content-Type"),
                response.headers.get("Cache-Control"),
            )
    except urllib.error.HTTPError as error:
        return Page(error.code, b"", error.headers.get("Content-Type"), error.headers.get("Cache-Control"))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise RetryableOriginError(f"{url}: {error}") from error


class BucketWriter:
    """Writes pages into the cache bucket."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, page: Page) -> None:
        extra = {"CacheControl": page.cache_control} if page.cache_control else {}
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=page.body,
            ContentType=page.content_type or "application/octet-stream",
            **extra,
        )


def page_url(origin_url: str, path: str, publish_key: str, nonce: str | None = None) -> str:
    """The URL that reaches the web origin for `path`, past CloudFront's caches: a fresh value of the
    publisher's parameter, signed for this path with the publish key (the edge function refuses any other)."""
    return f"{origin_url.rstrip('/')}{path}?{BYPASS_PARAM}={publish_token(publish_key, path, nonce)}"


def invalid_paths(paths: Iterable[object]) -> list[str]:
    """The paths that are no cacheable page path (wildcards, relative or hostile paths), as given."""
    return [str(p)[:200] for p in paths if not isinstance(p, str) or cache_key(p) is None]


def within(seconds: float, call: Callable[[], Page]) -> Page:
    """`call()`, or RetryableOriginError once `seconds` have passed: urllib's timeout bounds each socket
    operation, not the whole fetch, and a retryable error is better than Lambda ending the task. The thread
    left behind only reads; its result is dropped."""
    outcome: list[Page | BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the caller below
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise RetryableOriginError(f"the fetch took longer than {seconds:g} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def publish(
    path: str, *, origin_url: str, publish_key: str, fetcher: Callable[[str], Page], writer: BucketWriter
) -> dict[str, str]:
    """Fetch `path` from the origin and store it; a 404/410 reports `not_found` so the caller deletes the copy."""
    key = cache_key(path) if isinstance(path, str) else None
    if key is None:
        raise InvalidPath(f"not a cacheable page path: {str(path)[:200]!r}")
    page = fetcher(page_url(origin_url, path, publish_key))
    if page.status in _NOT_FOUND:
        return {"path": path, "key": key, "result": "not_found"}
    if page.status == 429 or page.status >= 500:
        raise RetryableOriginError(f"{path}: origin answered {page.status}")
    if page.status != 200:
        raise UnpublishableResponse(f"{path}: origin answered {page.status}")
    writer.put(key, page)
    return {"path": path, "key": key, "result": "stored"}
