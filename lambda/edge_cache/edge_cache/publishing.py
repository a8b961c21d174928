"""Publish one page into the cache: fetch it from the web origin, store it under its cache key.

Errors are named for the state machine: it retries RetryableOriginError (throttling, 5xx, network) with
backoff and jitter and records every other failure as a failed path.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from edge_cache.keys import BYPASS_PARAM, cache_key

USER_AGENT = "edge-cache-publisher/1"
_NOT_FOUND = (404, 410)
# The web origin admits only CloudFront, so the publisher fetches through the distribution. A query parameter
# unique to each fetch (BYPASS_PARAM) misses CloudFront's caches; the fill then asks S3 first, so the publisher
# takes the page's copy out of the bucket before the fetch (and puts it back if the fetch fails), and S3's 403
# sends the fill to the web origin, which must ignore the parameter.


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

    def take(self, key: str) -> Page | None:
        """Remove the stored copy of a page and return it (None when there is none)."""
        try:
            stored = self._client.get_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.ClientError as error:
            # Without s3:ListBucket a missing key answers 403 rather than 404.
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "AccessDenied", "403", "404"):
                return None
            raise
        page = Page(200, stored["Body"].read(), stored.get("ContentType"), stored.get("CacheControl"))
        self._client.delete_object(Bucket=self._bucket, Key=key)
        return page

    def put(self, key: str, page: Page) -> None:
        extra = {"CacheControl": page.cache_control} if page.cache_control else {}
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=page.body,
            ContentType=page.content_type or "application/octet-stream",
            **extra,
        )


def page_url(origin_url: str, path: str, nonce: str | None = None) -> str:
    """The URL that reaches the web origin for `path`, past CloudFront's and the edge function's caches."""
    separator = "&" if "?" in path else "?"
    return f"{origin_url.rstrip('/')}{path}{separator}{BYPASS_PARAM}={nonce or uuid.uuid4().hex}"


def invalid_paths(paths: Iterable[object]) -> list[str]:
    """The paths that are no cacheable page path (wildcards, relative or hostile paths), as given."""
    return [str(p)[:200] for p in paths if not isinstance(p, str) or cache_key(p) is None]


def within(seconds: float, call: Callable[[], Page]) -> Page:
    """`call()`, or RetryableOriginError once `seconds` have passed: urllib's timeout bounds each socket
    operation, not the whole fetch, and Lambda's own timeout would end the task before it could restore
    the page it took out. The thread left behind only reads; its result is dropped."""
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


def publish(path: str, *, origin_url: str, fetcher: Callable[[str], Page], writer: BucketWriter) -> dict[str, str]:
    """Fetch `path` from the origin and store it; a 404/410 reports `not_found` so the caller deletes the copy.
    Whatever fails after the copy is taken out (the fetch, an unusable answer, the write), the copy goes back."""
    key = cache_key(path) if isinstance(path, str) else None
    if key is None:
        raise InvalidPath(f"not a cacheable page path: {str(path)[:200]!r}")
    previous = writer.take(key)  # else the fill through CloudFront would read this copy back from S3
    try:
        page = fetcher(page_url(origin_url, path))
        if page.status in _NOT_FOUND:
            return {"path": path, "key": key, "result": "not_found"}
        if page.status == 429 or page.status >= 500:
            raise RetryableOriginError(f"{path}: origin answered {page.status}")
        if page.status != 200:
            raise UnpublishableResponse(f"{path}: origin answered {page.status}")
        writer.put(key, page)
    except Exception:
        if previous:
            writer.put(key, previous)  # a failed publish keeps the page viewers had
        raise
    return {"path": path, "key": key, "result": "stored"}
