"""CloudFront origin-request events in the documented format (Lambda@Edge event structure)."""

from __future__ import annotations

from typing import Any

BUCKET_HEADER, REGION_HEADER, TIMEOUT_HEADER = "x-page-cache-bucket", "x-page-cache-region", "x-page-cache-timeout-ms"
CONFIG_HEADERS = (BUCKET_HEADER, REGION_HEADER, TIMEOUT_HEADER)


def origin_request(
    uri: str,
    *,
    bucket: str | None,
    region: str = "eu-west-1",
    timeout_ms: int = 1000,
    method: str = "GET",
    querystring: str = "",
) -> dict[str, Any]:
    custom_headers = {"x-app-secret": [{"key": "X-App-Secret", "value": "kept-for-the-origin"}]}
    if bucket is not None:
        custom_headers |= {
            BUCKET_HEADER: [{"key": "X-Page-Cache-Bucket", "value": bucket}],
            REGION_HEADER: [{"key": "X-Page-Cache-Region", "value": region}],
            TIMEOUT_HEADER: [{"key": "X-Page-Cache-Timeout-Ms", "value": str(timeout_ms)}],
        }
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
                            "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                            "via": [{"key": "Via", "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net"}],
                            "host": [{"key": "Host", "value": "origin.example.com"}],
                        },
                        "method": method,
                        "origin": {
                            "custom": {
                                "customHeaders": custom_headers,
                                "domainName": "origin.example.com",
                                "keepaliveTimeout": 5,
                                "path": "",
                                "port": 443,
                                "protocol": "https",
                                "readTimeout": 30,
                                "sslProtocols": ["TLSv1.2"],
                            }
                        },
                        "querystring": querystring,
                        "uri": uri,
                    },
                }
            }
        ]
    }
