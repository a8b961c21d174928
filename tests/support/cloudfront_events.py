"""CloudFront origin-request events in the documented format (Lambda@Edge event structure).

`to_bucket`: the request for the origin group's first member, the S3 bucket, carrying the custom headers the
distribution gives that origin (the edge function's settings and the web origin's secret). `to_web_origin`: the
same request sent to the group's second member after a failover.
"""

from __future__ import annotations

from typing import Any

WEB_DOMAIN = "web-1234.eu-west-1.elb.amazonaws.com"
SECRET_HEADER = "x-origin-verify"
SECRET = "kept-for-the-web-origin"
PUBLISH_KEY = "the-publishers-signing-key"


def _header(key: str, value: str) -> list[dict[str, str]]:
    return [{"key": key, "value": value}]


def bucket_headers(
    *, domain: str | None = WEB_DOMAIN, protocol: str | None = "http", publish_key: str | None = PUBLISH_KEY
) -> dict[str, Any]:
    """The bucket origin's custom headers as the distribution sets them."""
    headers = {SECRET_HEADER: _header("X-Origin-Verify", SECRET)}
    if domain is not None:
        headers["x-page-cache-web-domain"] = _header("X-Page-Cache-Web-Domain", domain)
    if protocol is not None:
        headers["x-page-cache-web-protocol"] = _header("X-Page-Cache-Web-Protocol", protocol)
    if publish_key is not None:
        headers["x-page-cache-publish-key"] = _header("X-Page-Cache-Publish-Key", publish_key)
    return headers


def _event(uri: str, origin: dict[str, Any], host: str, method: str, querystring: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "x-forwarded-for": _header("X-Forwarded-For", "203.0.113.178"),
                            "user-agent": _header("User-Agent", "Amazon CloudFront"),
                            "via": _header("Via", "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)"),
                            "host": _header("Host", host),
                        },
                        "method": method,
                        "origin": origin,
                        "querystring": querystring,
                        "uri": uri,
                    },
                }
            }
        ]
    }


def to_bucket(
    uri: str,
    *,
    method: str = "GET",
    querystring: str = "",
    headers: dict[str, Any] | None = None,
    bucket: str = "prod-edge-storagecache-abc123.s3.eu-west-1.amazonaws.com",
) -> dict[str, Any]:
    origin = {
        "s3": {
            "authMethod": "none",
            "customHeaders": bucket_headers() if headers is None else headers,
            "domainName": bucket,
            "path": "/pages",
            "region": "eu-west-1",
        }
    }
    return _event(uri, origin, bucket, method, querystring)


def to_web_origin(uri: str, *, method: str = "GET", querystring: str = "") -> dict[str, Any]:
    origin = {
        "custom": {
            "customHeaders": {
                SECRET_HEADER: _header("X-Origin-Verify", SECRET),
                "x-page-cache-publish-key": _header("X-Page-Cache-Publish-Key", PUBLISH_KEY),
            },
            "domainName": WEB_DOMAIN,
            "keepaliveTimeout": 5,
            "path": "",
            "port": 80,
            "protocol": "http",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }
    return _event(uri, origin, WEB_DOMAIN, method, querystring)
