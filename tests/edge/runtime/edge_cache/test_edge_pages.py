"""The publisher's fetch-and-store step against a local web origin and moto's S3 on 127.0.0.1."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_cache.keys import cache_key
from edge_cache.pages import (
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
from tests.support.servers import free_port
from tests.support.web_origin import LocalOrigin, certificate_for, web_origin


def _publish(path: str, origin_url: str, s3: Any, bucket: str) -> dict[str, str]:
    return publish(
        path, origin_url=origin_url, fetcher=lambda url: fetch(url, timeout_s=2), writer=BucketWriter(s3, bucket)
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
    from edge.buckets import PAGES_PREFIX

    return PAGES_PREFIX


def test_each_fetch_asks_the_web_origin_for_the_plain_path_and_leaves_the_copy_in_place(
    origin: LocalOrigin, s3: Any, bucket: str
) -> None:
    """The publisher fetches from the load balancer inside the VPC, not through CloudFront: no query parameter to
    miss CloudFront's caches, no token to prove it is the publisher, and the copy viewers are served stays in S3
    until the new one replaces it."""
    _publish("/news/today", origin.url, s3, bucket)
    copies_during_fetch = []

    def fetcher(url: str) -> Page:
        copies_during_fetch.append(s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0))
        return fetch(url, timeout_s=2)

    publish("/news/today", origin_url=origin.url, fetcher=fetcher, writer=BucketWriter(s3, bucket))
    assert copies_during_fetch == [1]
    assert origin.paths()[-2:] == ["/news/today", "/news/today"]


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
            "/news/today", origin_url="http://internal-web.eu-west-1.elb.amazonaws.com", fetcher=fetcher, writer=writer
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
        publish(path, origin_url="http://127.0.0.1:1", fetcher=must_not_fetch, writer=BucketWriter(s3, bucket))


def test_only_http_origins_are_fetched() -> None:
    with pytest.raises(ValueError, match="http"):
        fetch("file:///etc/passwd", timeout_s=1)


def test_a_fetch_cut_at_its_deadline_is_retryable_and_leaves_the_copy(s3: Any, bucket: str) -> None:
    """urllib's timeout bounds each socket operation only; a trickling origin must not outlast the task."""
    writer = BucketWriter(s3, bucket)
    writer.put("pages/news/today", Page(200, b"<h1>Yesterday</h1>", "text/html", None))

    def trickle() -> Page:
        time.sleep(5)
        return Page(200, b"late", "text/html", None)

    started = time.monotonic()
    with pytest.raises(RetryableOriginError, match=r"longer than 0\.2 s"):
        publish("/news/today", origin_url="http://10.0.8.10", fetcher=lambda _: within(0.2, trickle), writer=writer)
    assert time.monotonic() - started < 4
    assert s3.get_object(Bucket=bucket, Key="pages/news/today")["Body"].read() == b"<h1>Yesterday</h1>"


def test_within_hands_back_the_answer_or_the_error() -> None:
    page = Page(200, b"x", None, None)
    assert within(5, lambda: page) is page
    with pytest.raises(ConnectionError):
        within(5, lambda: (_ for _ in ()).throw(ConnectionError("reset")))


def test_the_paths_that_are_no_page_path_are_named_as_given() -> None:
    """What the function's path check refuses (run as deployed in test_publisher_as_deployed.py)."""
    assert invalid_paths(["/news/today", "/*", "news", 7]) == ["/*", "news", "7"]
    assert invalid_paths(["/news/today", "/"]) == []


def test_the_fetch_url_is_the_origin_and_the_path() -> None:
    assert page_url("https://internal-web.elb.amazonaws.com/", "/news/today") == (
        "https://internal-web.elb.amazonaws.com/news/today"
    )


# --- HTTPS to the load balancer: its certificate is for the user's name, not for its own DNS name ----------

TLS_NAME = "origin.example.test"


@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalOrigin, Path]]:
    """An HTTPS origin on 127.0.0.1 whose certificate covers TLS_NAME only, and the CA file that signed it."""
    ca_file, certificate = certificate_for(TLS_NAME, tmp_path_factory.mktemp("tls"))
    with web_origin(certificate=certificate) as served:
        yield served, ca_file


def _trusting(ca_file: Any) -> Any:
    import ssl

    return ssl.create_default_context(cafile=str(ca_file))


def test_https_fetches_check_the_certificate_against_the_origin_name(tls_origin: Any) -> None:
    """The publisher connects to the load balancer's own DNS name (here 127.0.0.1), and the certificate must be
    valid for the name the user gave (web.origin_domain_name), which is also the request's Host."""
    origin, ca_file = tls_origin
    page = fetch(f"{origin.url}/news/today", timeout_s=5, tls_name=TLS_NAME, context=_trusting(ca_file))
    assert (page.status, page.body) == (200, b"<h1>Today</h1>")
    assert origin.received[-1].host == TLS_NAME
    assert origin.server_names[-1] == TLS_NAME


def test_https_fetches_refuse_a_certificate_for_another_name(tls_origin: Any) -> None:
    """The same load balancer, a name its certificate does not cover: refused, as a retryable error the state
    machine records after its retries."""
    origin, ca_file = tls_origin
    with pytest.raises(RetryableOriginError, match=r"CERTIFICATE_VERIFY_FAILED"):
        fetch(f"{origin.url}/news/today", timeout_s=5, tls_name="other.example.test", context=_trusting(ca_file))


def test_the_trust_store_is_loaded_once_per_environment_not_per_fetch(
    origin: LocalOrigin, tls_origin: tuple[LocalOrigin, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SSL context reads the whole CA bundle when it is built (about 20 ms of CPU at one vCPU here, billed with
    every fetch), and urllib builds one for every opener: openers are built once per execution environment, over
    HTTP (the shipped stages) and over HTTPS with the trust store the function has."""
    import http.client
    import ssl

    built: list[object] = []
    default_context, https_context = ssl.create_default_context, http.client._create_https_context  # type: ignore[attr-defined]
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: built.append(a) or default_context(*a, **k))
    monkeypatch.setattr(http.client, "_create_https_context", lambda *a: built.append(a) or https_context(*a))
    tls, _ = tls_origin
    for _ in range(3):
        assert fetch(f"{origin.url}/news/today", timeout_s=5).status == 200
        with pytest.raises(RetryableOriginError, match="CERTIFICATE_VERIFY_FAILED"):  # a CA this store lacks
            fetch(f"{tls.url}/news/today", timeout_s=5, tls_name=TLS_NAME)
    assert len(built) <= 2, built  # at most one per kind of opener, whatever the number of fetches
