"""The publisher's fetch-and-store step against a local web origin and moto's S3 on 127.0.0.1."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import boto3
import pytest

from edge_cache.keys import BYPASS_PARAM, cache_key
from edge_cache.origin_request import handler as origin_request
from edge_cache.publishing import (
    BucketWriter,
    InvalidPath,
    Page,
    RetryableOriginError,
    UnpublishableResponse,
    fetch,
    invalid_paths,
    page_url,
    publish,
    within,
)
from tests.support.cloudfront_events import PUBLISH_KEY, to_bucket
from tests.support.servers import free_port


def _publish(path: str, origin_url: str, s3: Any, bucket: str) -> dict[str, str]:
    return publish(
        path,
        origin_url=origin_url,
        publish_key=PUBLISH_KEY,
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


@pytest.mark.parametrize(("path", "body"), [("/", b"<h1>Home</h1>"), ("/news/today", b"<h1>Today</h1>")])
def test_cloudfront_reading_the_origin_path_finds_what_the_publisher_stored(
    origin_url: str, s3_endpoint: str, s3: Any, bucket: str, *, path: str, body: bytes
) -> None:
    """CloudFront asks S3 for the origin path `/pages` + the viewer's URI; that is the key the publisher wrote."""
    _publish(path, origin_url, s3, bucket)
    origin_path = "/" + distribution_pages_prefix().strip("/")
    assert _signed_get(f"{s3_endpoint}/{bucket}{origin_path}{path}") == body


def test_a_percent_encoded_path_is_the_key_s3_decodes_it_to(s3_endpoint: str, s3: Any, bucket: str) -> None:
    writer = BucketWriter(s3, bucket)
    page = Page(200, b"<h1>Cafe</h1>", "text/html", None)
    writer.put(cache_key("/caf%C3%A9") or "", page)
    assert _signed_get(f"{s3_endpoint}/{bucket}/pages/caf%C3%A9") == b"<h1>Cafe</h1>"


def _signed_get(url: str) -> bytes:
    """GET a raw URL signed with SigV4, as CloudFront's origin access control signs its requests to S3."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials("testing", "testing"), "s3", "eu-west-1").add_auth(request)
    prepared = urllib.request.Request(url, headers=dict(request.headers.items()))  # noqa: S310 (http://127.0.0.1)
    with urllib.request.urlopen(prepared, timeout=5) as response:  # noqa: S310
        return bytes(response.read())


def distribution_pages_prefix() -> str:
    from stacks.edge.buckets import PAGES_PREFIX

    return PAGES_PREFIX


def test_each_fetch_goes_past_both_caches_to_the_web_origin(
    origin_url: str, origin_requests: list[str], s3: Any, bucket: str
) -> None:
    """The publisher fetches through CloudFront (the origin admits nothing else): a signed value of the
    publisher's parameter, new for each fetch, misses CloudFront's caches, and the origin-request function sends
    that request straight to the web origin, so the copy viewers are served stays in S3 meanwhile."""
    _publish("/news/today", origin_url, s3, bucket)
    copies_during_fetch = []

    def fetcher(url: str) -> Page:
        copies_during_fetch.append(s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0))
        return fetch(url, timeout_s=2)

    publish(
        "/news/today", origin_url=origin_url, publish_key=PUBLISH_KEY, fetcher=fetcher, writer=BucketWriter(s3, bucket)
    )
    assert copies_during_fetch == [1]
    first, second = [p for p in origin_requests if p.startswith("/news/today?")][-2:]
    assert first.startswith(f"/news/today?{BYPASS_PARAM}=") and first != second
    for seen in (first, second):  # what the function decides for exactly those requests
        uri, _, query = seen.partition("?")
        routed = origin_request(to_bucket(uri, querystring=query), None)
        assert set(routed["origin"]) == {"custom"}


@pytest.mark.parametrize("answer", [Page(503, b"", None, None), Page(301, b"", None, None), TimeoutError("slow")])
def test_a_failed_publish_leaves_the_copy_viewers_have(s3: Any, bucket: str, answer: Page | Exception) -> None:
    writer = BucketWriter(s3, bucket)
    writer.put("pages/news/today", Page(200, b"<h1>Yesterday</h1>", "text/html", "max-age=60"))

    def fetcher(_url: str) -> Page:
        if isinstance(answer, Exception):
            raise answer
        return answer

    with pytest.raises((RetryableOriginError, UnpublishableResponse, TimeoutError)):
        publish(
            "/news/today",
            origin_url="https://d111111abcdef8.cloudfront.net",
            publish_key=PUBLISH_KEY,
            fetcher=fetcher,
            writer=writer,
        )
    stored = s3.get_object(Bucket=bucket, Key="pages/news/today")
    assert (stored["Body"].read(), stored["CacheControl"]) == (b"<h1>Yesterday</h1>", "max-age=60")


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


@pytest.mark.parametrize("path", ["/../secret", "/a/%2e%2e/b", "news", "/%2f", "/*", "/news/*"])
def test_hostile_paths_are_refused_before_any_request(s3: Any, bucket: str, path: str) -> None:
    def must_not_fetch(url: str) -> Any:
        raise AssertionError(f"fetched {url}")

    with pytest.raises(InvalidPath):
        publish(
            path,
            origin_url="http://127.0.0.1:1",
            publish_key=PUBLISH_KEY,
            fetcher=must_not_fetch,
            writer=BucketWriter(s3, bucket),
        )


def test_only_http_origins_are_fetched() -> None:
    with pytest.raises(ValueError, match="http"):
        fetch("file:///etc/passwd", timeout_s=1)


def test_the_task_handler_publishes_with_its_environment(
    origin_url: str,
    *,
    origin_requests: list[str],
    s3_endpoint: str,
    s3: Any,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib
    from dataclasses import dataclass

    @dataclass
    class Context:
        function_name: str = "publisher"
        memory_limit_in_mb: int = 512
        invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:publisher"
        aws_request_id: str = "req-1"

    secrets = boto3.client("secretsmanager", region_name="eu-west-1", endpoint_url=s3_endpoint)
    key_arn = secrets.create_secret(Name=f"publish-key-{bucket}", SecretString=PUBLISH_KEY)["ARN"]
    for key, value in {
        "ORIGIN_URL": origin_url,
        "CACHE_BUCKET": bucket,
        "PUBLISH_KEY_SECRET_ARN": key_arn,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": s3_endpoint,
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
    # The fetch it made carries a value the edge function accepts as the publisher's: signed with that key.
    uri, _, query = [p for p in origin_requests if p.startswith("/news/today?")][-1].partition("?")
    assert set(origin_request(to_bucket(uri, querystring=query), None)["origin"]) == {"custom"}
    assert s3.head_object(Bucket=bucket, Key="pages/news/today")["ContentType"].startswith("text/html")


def test_a_fetch_cut_at_its_deadline_is_retryable_and_leaves_the_copy(s3: Any, bucket: str) -> None:
    """urllib's timeout bounds each socket operation only; a trickling origin must not outlast the task."""
    writer = BucketWriter(s3, bucket)
    writer.put("pages/news/today", Page(200, b"<h1>Yesterday</h1>", "text/html", None))

    def trickle() -> Page:
        time.sleep(5)
        return Page(200, b"late", "text/html", None)

    started = time.monotonic()
    with pytest.raises(RetryableOriginError, match=r"longer than 0\.2 s"):
        publish(
            "/news/today",
            origin_url="https://d1.cloudfront.net",
            publish_key=PUBLISH_KEY,
            fetcher=lambda _: within(0.2, trickle),
            writer=writer,
        )
    assert time.monotonic() - started < 4
    assert s3.get_object(Bucket=bucket, Key="pages/news/today")["Body"].read() == b"<h1>Yesterday</h1>"


def test_within_hands_back_the_answer_or_the_error() -> None:
    page = Page(200, b"x", None, None)
    assert within(5, lambda: page) is page
    with pytest.raises(ConnectionError):
        within(5, lambda: (_ for _ in ()).throw(ConnectionError("reset")))


def test_a_request_with_one_wildcard_or_relative_path_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    from edge_cache.publisher import validate

    assert invalid_paths(["/news/today", "/*", "news", 7]) == ["/*", "news", "7"]
    assert validate(["/news/today", "/"]) == {"result": "valid", "paths": "2"}
    with pytest.raises(InvalidPath, match=r"^paths: 2 of 3 are no cacheable page path \('/\*', 'news'\)"):
        validate(["/news/today", "/*", "news"])
    for empty in ([], None, "/news/today"):
        with pytest.raises(InvalidPath, match=r"^paths: a non-empty list"):
            validate(empty)


def test_the_fetch_url_carries_a_fresh_value_signed_for_its_path() -> None:
    url = page_url("https://d1.cloudfront.net/", "/news/today", PUBLISH_KEY, nonce="n1")
    assert url == f"https://d1.cloudfront.net/news/today?{BYPASS_PARAM}=n1." + url.rsplit(".", 1)[1]
    assert page_url("https://x", "/news/today", PUBLISH_KEY) != page_url("https://x", "/news/today", PUBLISH_KEY)
