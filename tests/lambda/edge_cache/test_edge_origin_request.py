"""The origin-request handler against moto's S3 on 127.0.0.1, with events in CloudFront's format."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from edge_cache import origin_request
from edge_cache.origin_request import BODY_LIMIT, CONFIG_HEADERS, handler
from edge_cache.store import CacheUnavailable, S3Store
from tests.support.cloudfront_events import origin_request as event
from tests.support.servers import free_port

HTML = "text/html; charset=utf-8"


def _put(s3: Any, bucket: str, key: str, body: bytes, content_type: str = HTML, **extra: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **extra)


# Headers a Lambda@Edge generated response must not set (CloudFront "restrictions on edge functions").
_DISALLOWED = ("connection", "expect", "keep-alive", "proxy-", "trailer", "upgrade", "via", "transfer-encoding")
_DISALLOWED_PREFIXES = ("x-accel-", "x-amz-cf-", "x-amzn-", "x-cache", "x-edge-", "x-forwarded-proto", "x-real-ip")


def _assert_allowed_headers(response: dict[str, Any]) -> None:
    for name, values in response["headers"].items():
        assert name == name.lower() and values[0]["key"].lower() == name
        assert not name.startswith(_DISALLOWED) and not name.startswith(_DISALLOWED_PREFIXES), name


def _is_forwarded(result: dict[str, Any], uri: str) -> bool:
    """The handler returned the request (to the web origin), not a generated response."""
    return "status" not in result and result["uri"] == uri


def test_hit_is_answered_from_the_cache(s3: Any, bucket: str) -> None:
    _put(s3, bucket, "pages/news/today", b"<h1>Today</h1>", CacheControl="max-age=60")
    result = handler(event("/news/today", bucket=bucket), None)
    assert result["status"] == "200"
    assert result["body"] == "<h1>Today</h1>" and result["bodyEncoding"] == "text"
    assert result["headers"]["content-type"] == [{"key": "Content-Type", "value": HTML}]
    assert result["headers"]["cache-control"] == [{"key": "Cache-Control", "value": "max-age=60"}]
    assert result["headers"]["x-page-cache"][0]["value"] == "hit"
    _assert_allowed_headers(result)
    assert result["headers"]["etag"][0]["value"].startswith('"')
    assert result["headers"]["last-modified"][0]["value"].endswith("GMT")


def test_directory_paths_are_served_from_their_index(s3: Any, bucket: str) -> None:
    _put(s3, bucket, "pages/index.html", b"<h1>Home</h1>")
    assert handler(event("/", bucket=bucket), None)["body"] == "<h1>Home</h1>"


def test_binary_objects_are_base64_encoded(s3: Any, bucket: str) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
    _put(s3, bucket, "pages/logo.png", png, content_type="image/png")
    result = handler(event("/logo.png", bucket=bucket), None)
    assert result["bodyEncoding"] == "base64"
    _assert_allowed_headers(result)
    assert base64.b64decode(result["body"]) == png


def test_miss_goes_to_the_web_origin_without_the_cache_settings(bucket: str) -> None:
    result = handler(event("/news/tomorrow", bucket=bucket), None)
    assert _is_forwarded(result, "/news/tomorrow")
    headers = result["origin"]["custom"]["customHeaders"]
    assert not set(CONFIG_HEADERS) & set(headers)
    assert headers["x-app-secret"][0]["value"] == "kept-for-the-origin"  # the origin's own headers stay


@pytest.mark.parametrize(
    ("method", "querystring"),
    [("POST", ""), ("HEAD", ""), ("GET", "page=2")],
)
def test_only_plain_gets_are_answered_from_the_cache(s3: Any, bucket: str, method: str, querystring: str) -> None:
    _put(s3, bucket, "pages/news/today", b"cached")
    result = handler(event("/news/today", bucket=bucket, method=method, querystring=querystring), None)
    assert _is_forwarded(result, "/news/today")


def test_missing_settings_disable_the_cache(s3: Any, bucket: str) -> None:
    _put(s3, bucket, "pages/news/today", b"cached")
    assert _is_forwarded(handler(event("/news/today", bucket=None), None), "/news/today")


@pytest.mark.parametrize(
    "uri",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/pages%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%252e%252e/secret.txt",
        "/" + "a" * 2000,
    ],
)
def test_hostile_paths_are_never_used_as_keys(s3: Any, bucket: str, uri: str) -> None:
    # Objects a traversal would reach if the path were used raw, or decoded and joined naively.
    for key in ("secret.txt", "pages/../secret.txt", "pages/%2e%2e/secret.txt", "pages/" + "a" * 2000):
        _put(s3, bucket, key[:1024], b"must not be served")
    result = handler(event(uri, bucket=bucket), None)
    assert _is_forwarded(result, uri)


def test_objects_over_the_generated_response_cap_go_to_the_origin(s3: Any, bucket: str) -> None:
    _put(s3, bucket, "pages/big.html", b"x" * (BODY_LIMIT + 1))
    assert _is_forwarded(handler(event("/big.html", bucket=bucket), None), "/big.html")


def test_binary_objects_whose_base64_exceeds_the_cap_go_to_the_origin(s3: Any, bucket: str) -> None:
    # 800 kB fits the cap as bytes, but not once base64 grows it by a third.
    _put(s3, bucket, "pages/photo.jpg", b"\xff" * 800_000, content_type="image/jpeg")
    assert _is_forwarded(handler(event("/photo.jpg", bucket=bucket), None), "/photo.jpg")


def test_object_just_under_the_cap_is_served(s3: Any, bucket: str) -> None:
    _put(s3, bucket, "pages/edge.html", b"y" * BODY_LIMIT)
    assert handler(event("/edge.html", bucket=bucket), None)["status"] == "200"


def test_unknown_bucket_falls_back_to_the_origin() -> None:
    assert _is_forwarded(handler(event("/news/today", bucket="no-such-bucket-here"), None), "/news/today")


def test_malformed_settings_fall_back_to_the_origin(bucket: str) -> None:
    bad_region = event("/news/today", bucket=bucket, region="not a region")
    assert _is_forwarded(handler(bad_region, None), "/news/today")
    bad_timeout = event("/news/today", bucket=bucket)
    bad_timeout["Records"][0]["cf"]["request"]["origin"]["custom"]["customHeaders"]["x-page-cache-timeout-ms"][0][
        "value"
    ] = "soon"
    assert _is_forwarded(handler(bad_timeout, None), "/news/today")


# S3 failures: an endpoint that refuses, one that answers 500, one that never answers.


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        body = b"<Error><Code>InternalError</Code><Message>boom</Message></Error>"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def failing_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_s3() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def _store(endpoint: str, timeout_s: float = 0.3) -> S3Store:
    from botocore.config import Config

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1})
    client = boto3.client("s3", region_name="eu-west-1", endpoint_url=endpoint, config=config)
    return S3Store(bucket="cache", client=client)


@pytest.mark.parametrize("endpoint", ["failing", "silent", "closed"])
def test_any_s3_failure_forwards_to_the_origin(
    endpoint: str, failing_s3: str, silent_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = {"failing": failing_s3, "silent": silent_s3, "closed": f"http://127.0.0.1:{free_port()}"}[endpoint]
    store = _store(url)
    with pytest.raises(CacheUnavailable):
        store.get("pages/news/today", max_bytes=BODY_LIMIT)
    monkeypatch.setattr(origin_request, "s3_store", lambda _settings: store)
    result = handler(event("/news/today", bucket="cache"), None)
    assert _is_forwarded(result, "/news/today")


def test_an_unexpected_error_still_forwards_to_the_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_settings: dict[str, str]) -> S3Store:
        raise RuntimeError("bug")

    monkeypatch.setattr(origin_request, "s3_store", broken)
    assert _is_forwarded(handler(event("/news/today", bucket="cache"), None), "/news/today")
