"""The origin-request function's decision, on events in CloudFront's documented format.

What S3 can serve goes to the bucket (CloudFront reads it), with no custom header; everything else goes straight
to the web origin with the web origin's own headers, the publisher's signed fetch included; the publisher's
parameter without its signature is answered 403; a failover request to the web origin goes on as it is; no
configuration header ever leaves the function, and no input makes it raise.
"""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_cache import origin_request
from edge_cache.keys import BYPASS_PARAM, cache_key, publish_token
from edge_cache.origin_request import CONFIG_HEADERS, CONFIG_PREFIX, REFUSED, handler
from tests.support.cloudfront_events import (
    PUBLISH_KEY,
    SECRET,
    SECRET_HEADER,
    WEB_DOMAIN,
    bucket_headers,
    to_bucket,
    to_web_origin,
)


def _request(event: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    return request


def _config_left(request: dict[str, Any]) -> list[str]:
    """Every configuration header still in the request, wherever it is."""
    names = [n for origin in request["origin"].values() for n in origin.get("customHeaders", {})]
    return [n for n in [*names, *request.get("headers", {})] if n.startswith(CONFIG_PREFIX)]


def _to_s3(result: dict[str, Any], sent: dict[str, Any]) -> None:
    """The request goes to the bucket it was meant for, without a single custom header, else unchanged."""
    assert set(result["origin"]) == {"s3"}
    s3, before = result["origin"]["s3"], sent["origin"]["s3"]
    assert s3["customHeaders"] == {}
    assert {k: v for k, v in s3.items() if k != "customHeaders"} == {
        k: v for k, v in before.items() if k != "customHeaders"
    }
    assert (result["uri"], result["querystring"], result["method"]) == (
        sent["uri"],
        sent["querystring"],
        sent["method"],
    )
    assert result["headers"] == sent["headers"]


def _to_web(result: dict[str, Any], sent: dict[str, Any], *, protocol: str = "http") -> None:
    """The request goes to the web origin, with the web origin's headers only, else unchanged."""
    assert result["origin"] == {
        "custom": {
            "customHeaders": {SECRET_HEADER: [{"key": "X-Origin-Verify", "value": SECRET}]},
            "domainName": WEB_DOMAIN,
            "keepaliveTimeout": 5,
            "path": "",
            "port": 443 if protocol == "https" else 80,
            "protocol": protocol,
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }
    assert result["headers"]["host"] == [{"key": "Host", "value": WEB_DOMAIN}]
    assert (result["uri"], result["querystring"], result["method"]) == (
        sent["uri"],
        sent["querystring"],
        sent["method"],
    )


@pytest.mark.parametrize(
    ("uri", "method", "querystring"),
    [
        ("/news/today", "GET", ""),
        ("/", "GET", ""),
        ("/news/", "GET", ""),
        ("/caf%C3%A9", "GET", ""),
        ("/news/today", "HEAD", ""),
    ],
)
def test_what_s3_can_serve_goes_to_the_bucket_without_any_custom_header(
    uri: str, method: str, querystring: str
) -> None:
    event = to_bucket(uri, method=method, querystring=querystring)
    sent = copy.deepcopy(_request(event))
    result = handler(event, None)
    _to_s3(result, sent)
    # The key CloudFront asks S3 for (origin path + decoded URI) is the one the publisher writes.
    assert result["origin"]["s3"]["path"].lstrip("/") + unquote(result["uri"]) == cache_key(uri)


@pytest.mark.parametrize(
    ("uri", "method", "querystring"),
    [
        ("/news/today", "OPTIONS", ""),
        ("/news/today", "POST", ""),
        ("/search", "GET", "q=cdk"),
        ("/news/today", "GET", "utm_source=mail"),
        ("/news/today", "GET", "&&"),
        ("/news/today", "GET", f"q={BYPASS_PARAM}"),  # the name inside another value is no publisher's fetch
        ("/news/../admin", "GET", ""),
        ("/news%2F..%2Fadmin", "GET", ""),
        ("/news//today", "GET", ""),
        ("/sale/50%25-off", "GET", ""),
        ("/*", "GET", ""),
        ("/" + "a" * 600, "GET", ""),
    ],
)
def test_what_s3_can_never_serve_goes_straight_to_the_web_origin(uri: str, method: str, querystring: str) -> None:
    event = to_bucket(uri, method=method, querystring=querystring)
    sent = copy.deepcopy(_request(event))
    _to_web(handler(event, None), sent)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("uri", ["/news/today", "/", "/caf%C3%A9"])
def test_the_publishers_signed_fetch_goes_straight_to_the_web_origin(uri: str, method: str) -> None:
    """The fresh page, not S3's copy: the publisher no longer takes the copy out to get past it."""
    event = to_bucket(uri, method=method, querystring=f"{BYPASS_PARAM}={publish_token(PUBLISH_KEY, uri)}")
    sent = copy.deepcopy(_request(event))
    _to_web(handler(event, None), sent)


@pytest.mark.parametrize(
    ("uri", "method", "querystring"),
    [
        ("/news/today", "GET", f"{BYPASS_PARAM}=3f2a9c"),  # a viewer's cache buster
        ("/news/today", "GET", f"{BYPASS_PARAM}=" + publish_token("another-key", "/news/today", nonce="a1b2")),
        (
            "/news/today",
            "GET",
            f"{BYPASS_PARAM}=" + publish_token(PUBLISH_KEY, "/news/other", nonce="a1b2"),
        ),  # another page's
        ("/news/today", "GET", f"{BYPASS_PARAM}="),
        ("/news/today", "GET", f"{BYPASS_PARAM}=" + publish_token(PUBLISH_KEY, "/news/today", nonce="a1b2") + "&utm=1"),
        ("/news/today", "GET", f"{BYPASS_PARAM}=1&{BYPASS_PARAM}=2"),
        ("/news/today", "GET", "edge%2Dcache-publish=1"),  # the name percent-encoded
        ("/news/today", "GET", f"{BYPASS_PARAM}=a.%C3%A9"),  # non-ASCII: compare_digest would raise on it
        ("/news/today", "GET", f"{BYPASS_PARAM}=a1b2.%ff"),
        ("/news/today", "GET", f"{BYPASS_PARAM}=a1b2." + "%C3%A9" * 16),
        ("/news/today", "GET", f"{BYPASS_PARAM}=%zz&&"),  # a query that does not parse, naming it
        ("/news/today", "OPTIONS", f"{BYPASS_PARAM}=" + publish_token(PUBLISH_KEY, "/news/today", nonce="a1b2")),
    ],
)
def test_the_publishers_parameter_without_its_signature_is_refused_before_any_origin(
    uri: str, method: str, querystring: str
) -> None:
    """Any other value would send a viewer past both caches: to S3, or to the web origin on a failover."""
    for event in (
        to_bucket(uri, method=method, querystring=querystring),
        to_web_origin(uri, method=method, querystring=querystring),
    ):
        result = handler(event, None)
        assert result == REFUSED and result["status"] == "403" and "origin" not in result


def test_without_a_publish_key_no_fetch_is_the_publishers() -> None:
    token = publish_token(PUBLISH_KEY, "/news/today")
    event = to_bucket("/news/today", querystring=f"{BYPASS_PARAM}={token}", headers=bucket_headers(publish_key=None))
    assert handler(event, None) == REFUSED


def test_an_https_web_origin_is_reached_on_443() -> None:
    event = to_bucket("/search", querystring="q=1", headers=bucket_headers(protocol="https"))
    sent = copy.deepcopy(_request(event))
    _to_web(handler(event, None), sent, protocol="https")


def test_a_failover_request_to_the_web_origin_goes_on_unchanged_but_for_the_publish_key() -> None:
    event = to_web_origin("/news/never-published")
    sent = copy.deepcopy(_request(event))
    del sent["origin"]["custom"]["customHeaders"]["x-page-cache-publish-key"]
    assert handler(event, None) == sent


def test_the_publishers_fetch_failing_over_goes_on_to_the_web_origin() -> None:
    token = publish_token(PUBLISH_KEY, "/news/today")
    event = to_web_origin("/news/today", querystring=f"{BYPASS_PARAM}={token}")
    result = handler(event, None)
    assert set(result["origin"]) == {"custom"} and _config_left(result) == []


@pytest.mark.parametrize(
    "headers",
    [
        bucket_headers(domain=None),
        bucket_headers(protocol=None),
        bucket_headers(protocol="ftp"),
        bucket_headers(domain=""),
    ],
)
def test_without_a_usable_web_origin_everything_goes_to_s3_which_fails_over(headers: dict[str, Any]) -> None:
    event = to_bucket("/search", querystring="q=1", headers=headers)
    sent = copy.deepcopy(_request(event))
    _to_s3(handler(event, None), sent)


def test_a_config_header_a_viewer_sends_is_removed_too() -> None:
    event = to_bucket("/news/today")
    _request(event)["headers"]["x-page-cache-web-domain"] = [{"key": "X-Page-Cache-Web-Domain", "value": "evil.test"}]
    result = handler(event, None)
    assert _config_left(result) == []


def test_an_error_in_the_decision_sends_the_request_on_without_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_uri: str) -> str | None:
        raise RuntimeError("boom")

    monkeypatch.setattr(origin_request, "cache_key", broken)
    event = to_bucket("/news/today")
    result = handler(event, None)
    assert set(result["origin"]) == {"s3"} and _config_left(result) == []
    assert result["origin"]["s3"]["customHeaders"] == {}  # not even the web origin's secret goes to S3


def test_an_error_on_a_request_with_the_publishers_parameter_refuses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails, the parameter never takes a request past the caches unchecked."""

    def broken(*_args: object) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(origin_request, "valid_publish_token", broken)
    token = publish_token(PUBLISH_KEY, "/news/today", nonce="a1b2")
    for event in (
        to_bucket("/news/today", querystring=f"{BYPASS_PARAM}={token}"),
        to_web_origin("/news/today", querystring=f"{BYPASS_PARAM}={token}"),
    ):
        assert handler(event, None) == REFUSED


def test_the_settings_the_function_reads_are_the_ones_the_events_carry() -> None:
    assert set(CONFIG_HEADERS) == {n for n in bucket_headers() if n.startswith(CONFIG_PREFIX)}


_METHODS = st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", ""])
_URIS = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80).map(lambda s: "/" + s),
    st.lists(
        st.sampled_from(["news", "..", ".", "", "%2f", "%2e", "%25", "*", "a b", "%C3%A9", "%ff"]), max_size=6
    ).map(lambda parts: "/" + "/".join(parts)),
    st.text(max_size=20),
)
_QUERIES = st.one_of(st.just(""), st.text(max_size=40), st.just(f"{BYPASS_PARAM}=x"))


@settings(max_examples=300, deadline=None)
@given(uri=_URIS, method=_METHODS, querystring=_QUERIES)
def test_no_request_raises_leaks_its_settings_or_reaches_s3_without_a_key(
    uri: str, method: str, querystring: str
) -> None:
    event = to_bucket(uri, method=method, querystring=querystring)
    result = handler(event, None)
    if "origin" not in result:  # a generated answer: only ever the refusal of an unsigned publisher's parameter
        assert result == REFUSED and BYPASS_PARAM in unquote(querystring)
        return
    assert _config_left(result) == []
    (origin,) = result["origin"]
    if origin == "s3":
        assert result["origin"]["s3"]["customHeaders"] == {}
        assert method in ("GET", "HEAD") and cache_key(uri) is not None and querystring == ""
    else:
        assert result["origin"]["custom"]["domainName"] == WEB_DOMAIN
        assert not (method in ("GET", "HEAD") and cache_key(uri) is not None and querystring == "")


@pytest.mark.parametrize("token", ["a.\u00e9", "a1b2.\ufffd", "\u00e9." + "0" * 32, "a1b2." + "0" * 31 + "\u00e9", ""])
def test_a_token_of_any_other_shape_is_invalid_without_raising(token: str) -> None:
    """compare_digest raises TypeError on non-ASCII text; the shape check comes first."""
    from edge_cache.keys import valid_publish_token

    assert valid_publish_token(PUBLISH_KEY, "/news/today", token) is False
