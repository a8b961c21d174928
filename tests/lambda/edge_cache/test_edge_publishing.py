"""The publisher's fetch-and-store step against a local web origin and moto's S3 on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from edge_cache.origin_request import handler as edge_handler
from edge_cache.publishing import (
    BYPASS_PARAM,
    BucketWriter,
    InvalidPath,
    RetryableOriginError,
    UnpublishableResponse,
    fetch,
    page_url,
    publish,
)
from tests.support.cloudfront_events import origin_request as event
from tests.support.servers import free_port


def _publish(path: str, origin_url: str, s3: Any, bucket: str) -> dict[str, str]:
    return publish(
        path,
        origin_url=origin_url,
        fetcher=lambda url: fetch(url, timeout_s=2),
        writer=BucketWriter(s3, bucket),
    )


def test_a_page_is_stored_with_its_content_type_and_cache_headers(origin_url: str, s3: Any, bucket: str) -> None:
    result = _publish("/news/today", origin_url, s3, bucket)
    assert result == {"path": "/news/today", "key": "pages/news/today", "result": "stored"}
    stored = s3.get_object(Bucket=bucket, Key="pages/news/today")
    assert stored["Body"].read() == b"<h1>Today</h1>"
    assert stored["ContentType"] == "text/html; charset=utf-8"
    assert stored["CacheControl"] == "max-age=60"


def test_the_edge_function_serves_what_the_publisher_stored(origin_url: str, s3: Any, bucket: str) -> None:
    """Both derive keys with edge_cache.keys, so a published path is a cache hit."""
    _publish("/", origin_url, s3, bucket)
    response = edge_handler(event("/", bucket=bucket), None)
    assert (response["status"], response["body"]) == ("200", "<h1>Home</h1>")


def test_each_fetch_goes_past_both_caches_to_the_web_origin(
    origin_url: str, origin_requests: list[str], s3: Any, bucket: str
) -> None:
    """The publisher fetches through CloudFront (the origin admits nothing else): a query parameter unique to
    the fetch misses CloudFront's cache, and the edge function forwards it even when the page is cached."""
    _publish("/news/today", origin_url, s3, bucket)
    _publish("/news/today", origin_url, s3, bucket)
    first, second = [p for p in origin_requests if p.startswith("/news/today?")][-2:]
    assert first.startswith(f"/news/today?{BYPASS_PARAM}=") and first != second
    uri, query = page_url("https://d111111abcdef8.cloudfront.net", "/news/today").split("/", 3)[3].split("?")
    forwarded = edge_handler(event(f"/{uri}", bucket=bucket, querystring=query), None)
    assert "status" not in forwarded  # the request goes on to the origin, not answered from S3
    assert forwarded["uri"] == "/news/today"
    assert page_url("https://x", "/a?b=1", "n") == f"https://x/a?b=1&{BYPASS_PARAM}=n"


@pytest.mark.parametrize("path", ["/gone", "/never-existed"])
def test_not_found_reports_the_key_to_delete(origin_url: str, s3: Any, bucket: str, path: str) -> None:
    result = _publish(path, origin_url, s3, bucket)
    assert result == {"path": path, "key": f"pages{path}", "result": "not_found"}
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize("path", ["/busy", "/slow-down"])
def test_throttling_and_5xx_are_retryable(origin_url: str, s3: Any, bucket: str, path: str) -> None:
    with pytest.raises(RetryableOriginError, match=path):
        _publish(path, origin_url, s3, bucket)


def test_an_unreachable_origin_is_retryable(s3: Any, bucket: str) -> None:
    with pytest.raises(RetryableOriginError):
        _publish("/news/today", f"http://127.0.0.1:{free_port()}", s3, bucket)


@pytest.mark.parametrize("path", ["/moved", "/private"])
def test_redirects_and_other_4xx_are_not_cached(origin_url: str, s3: Any, bucket: str, path: str) -> None:
    with pytest.raises(UnpublishableResponse):
        _publish(path, origin_url, s3, bucket)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize("path", ["/../secret", "/a/%2e%2e/b", "news", "/%2f"])
def test_hostile_paths_are_refused_before_any_request(s3: Any, bucket: str, path: str) -> None:
    def must_not_fetch(url: str) -> Any:
        raise AssertionError(f"fetched {url}")

    with pytest.raises(InvalidPath):
        publish(path, origin_url="http://127.0.0.1:1", fetcher=must_not_fetch, writer=BucketWriter(s3, bucket))


def test_only_http_origins_are_fetched() -> None:
    with pytest.raises(ValueError, match="http"):
        fetch("file:///etc/passwd", timeout_s=1)


def test_the_task_handler_publishes_with_its_environment(
    origin_url: str, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    from dataclasses import dataclass

    @dataclass
    class Context:
        function_name: str = "publisher"
        memory_limit_in_mb: int = 512
        invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:publisher"
        aws_request_id: str = "req-1"

    for key, value in {
        "ORIGIN_URL": origin_url,
        "CACHE_BUCKET": bucket,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    from edge_cache import publisher

    publisher = importlib.reload(publisher)
    assert publisher.handler({"path": "/news/today"}, Context()) == {
        "path": "/news/today",
        "key": "pages/news/today",
        "result": "stored",
    }
    assert s3.head_object(Bucket=bucket, Key="pages/news/today")["ContentType"].startswith("text/html")
