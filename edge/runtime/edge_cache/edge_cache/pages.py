"""Publish one page into the cache: fetch it from the web origin, store it under its cache key. The stored copy
stays in place until the new one replaces it (S3 writes an object whole), so a failed publish changes nothing.

The fetch goes to the web origin's internal load balancer inside its VPC, not through CloudFront: it needs no
parameter to miss CloudFront's caches, no key to prove it is the publisher's, and never meets the web ACL. With
HTTPS the load balancer's certificate is for a name of the user's (`tls_name`), not for the load balancer's own
DNS name, so the fetch connects to the load balancer and checks the certificate against that name.

Errors are named for the state machine: it retries RetryableOriginError (throttling, 5xx, network) with
backoff and jitter and records every other failure as a failed path.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from edge_cache.keys import cache_key

USER_AGENT = "edge-cache-publisher/1"
_NOT_FOUND = (404, 410)


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


class _NamedTLSConnection(http.client.HTTPSConnection):
    """Connects to `host` and checks its certificate against `tls_name` (SNI and host name check)."""

    def __init__(self, host: str, *, tls_name: str, context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(host, context=context, **kwargs)
        self._tls_name = tls_name
        self._tls_context = context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._tls_context.wrap_socket(sock, server_hostname=self._tls_name)


class _NamedTLS(urllib.request.HTTPSHandler):
    def __init__(self, tls_name: str, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._tls_name = tls_name
        self._tls_context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        def connection(host: str, **kwargs: Any) -> _NamedTLSConnection:
            kwargs.pop("context", None)
            return _NamedTLSConnection(host, tls_name=self._tls_name, context=self._tls_context, **kwargs)

        return self.do_open(connection, req)


@functools.lru_cache(maxsize=8)
def _opener(tls_name: str | None, context: ssl.SSLContext | None) -> urllib.request.OpenerDirector:
    """One opener per execution environment and name: building one builds an SSL context, which reads the whole CA
    bundle (tens of milliseconds of CPU, billed with the fetch)."""
    if tls_name is None:
        return urllib.request.build_opener(_NoRedirects)
    return urllib.request.build_opener(_NoRedirects, _NamedTLS(tls_name, context or ssl.create_default_context()))


def fetch(url: str, *, timeout_s: float, tls_name: str | None = None, context: ssl.SSLContext | None = None) -> Page:
    """GET `url`; HTTP errors come back as a Page with their status, network failures raise. With `tls_name`,
    an https URL's certificate must be valid for that name (and the request's Host is that name)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"origin URLs are http(s) only, got {url[:50]!r}")
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **({"Host": tls_name} if tls_name else {})}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with _opener(tls_name, context).open(request, timeout=timeout_s) as response:
            return Page(
                response.status,
                response.read(),
                response.headers.get("Content-Type"),
                response.headers.get("Cache-Control"),
            )
    except urllib.error.HTTPError as error:
        return Page(error.code, b"", error.headers.get("Content-Type"), error.headers.get("Cache-Control"))
    except (urllib.error.URLError, TimeoutError, ConnectionError, ssl.SSLError) as error:
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


def page_url(origin_url: str, path: str) -> str:
    """The URL of `path` on the web origin (the load balancer inside the VPC)."""
    return f"{origin_url.rstrip('/')}{path}"


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


def publish(path: str, *, origin_url: str, fetcher: Callable[[str], Page], writer: BucketWriter) -> dict[str, str]:
    """Fetch `path` from the origin and store it; a 404/410 reports `not_found` so the caller deletes the copy."""
    key = cache_key(path) if isinstance(path, str) else None
    if key is None:
        raise InvalidPath(f"not a cacheable page path: {str(path)[:200]!r}")
    page = fetcher(page_url(origin_url, path))
    if page.status in _NOT_FOUND:
        return {"path": path, "key": key, "result": "not_found"}
    if page.status == 429 or page.status >= 500:
        raise RetryableOriginError(f"{path}: origin answered {page.status}")
    if page.status != 200:
        raise UnpublishableResponse(f"{path}: origin answered {page.status}")
    writer.put(key, page)
    return {"path": path, "key": key, "result": "stored"}
