"""Origin-request Lambda@Edge: what the S3 cache can serve goes to S3, the rest straight to the web origin.

The page behaviours' origin is an origin group: the cache bucket (through OAC, origin path `/pages`) first, the
web origin on the failover codes. CloudFront reads S3 itself; this function reads nothing and only decides:

- A request carrying the publisher's parameter (BYPASS_PARAM) is the publisher's fetch when its value is
  signed for its path with the publish key (`keys.valid_publish_token`): it goes straight to the web origin, for
  the fresh page. Any other value is answered 403 here, so no viewer can send requests past the caches to S3
  or the web origin with it.
- On the request for the bucket (the group's first try): a GET or HEAD whose path has a cache key
  (`edge_cache.keys`) and no query string goes on to S3. Anything
  else (OPTIONS, another query string, a path the cache never holds) can never come from S3, so the function
  replaces the request's origin with the web origin: no S3 read. (The switch happens inside the group's
  first try, so a 403/5xx from the web origin there fails over to it once more, invoking this function again.)
- On the request for the web origin (a failover after S3 answered 403 or 5xx): it goes on as it is.

Lambda@Edge has no environment variables, so the web origin's address and the publish key ride on the bucket
origin's custom headers (CONFIG_HEADERS; the key on the web origin's too, for failovers), beside the web
origin's own headers (its secret). Every request leaves without
them: S3 gets no custom header at all, the web origin gets its own. The function never raises: on any error
the request goes on to the origin CloudFront chose, headers removed (S3, whose 403 then fails over).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, unquote

from edge_cache.keys import BYPASS_PARAM, cache_key, valid_publish_token

# Custom headers of the bucket origin that configure the function (CloudFront lower-cases the keys in the event).
CONFIG_PREFIX = "x-page-cache-"
WEB_DOMAIN_HEADER = CONFIG_PREFIX + "web-domain"
WEB_PROTOCOL_HEADER = CONFIG_PREFIX + "web-protocol"  # "https" or "http"
PUBLISH_KEY_HEADER = CONFIG_PREFIX + "publish-key"  # the secret the publisher signs its fetches with
CONFIG_HEADERS = (WEB_DOMAIN_HEADER, WEB_PROTOCOL_HEADER, PUBLISH_KEY_HEADER)
# Answer to a request with the publisher's parameter that the publisher did not sign.
REFUSED = {
    "status": "403",
    "statusDescription": "Forbidden",
    "headers": {
        "content-type": [{"key": "Content-Type", "value": "application/json"}],
        "cache-control": [{"key": "Cache-Control", "value": "no-store"}],
    },
    "body": '{"message": "edge-cache-publish is reserved for the cache publisher"}',
}
# Methods S3 answers for a page; OPTIONS (and anything else) belongs to the web app.
S3_METHODS = ("GET", "HEAD")
# The web origin as the distribution defines it (stacks/edge/distribution.py; a test keeps them equal).
WEB_READ_TIMEOUT_S = 30
WEB_KEEPALIVE_TIMEOUT_S = 5
WEB_SSL_PROTOCOLS = ("TLSv1.2",)

logger = logging.getLogger()
logger.setLevel(logging.INFO)

Headers = dict[str, list[dict[str, str]]]


def s3_can_serve(request: dict[str, Any]) -> bool:
    """Whether S3 could hold the answer: a GET/HEAD of a cacheable path with no query string."""
    if request.get("method") not in S3_METHODS or request.get("querystring"):
        return False
    uri = request.get("uri")
    return isinstance(uri, str) and cache_key(uri) is not None


def names_publish_param(query: object) -> bool:
    """Whether a query string names the publisher's parameter anywhere, in any percent-encoding."""
    return BYPASS_PARAM in unquote(str(query or ""))


def publish_fetch(request: dict[str, Any], key: str) -> bool | None:
    """None: no publisher's parameter. True: the publisher's own fetch (the parameter alone, signed for this
    path with `key`). False: the parameter with anything else, which is refused."""
    query = request.get("querystring") or ""
    if not query:
        return None
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:  # a query that does not parse is refused if it names the parameter in any encoding
        return False if names_publish_param(query) else None
    if BYPASS_PARAM not in (name for name, _ in pairs):
        return None
    if len(pairs) != 1 or request.get("method") not in S3_METHODS:
        return False
    uri = request.get("uri")
    return isinstance(uri, str) and valid_publish_token(key, uri, pairs[0][1])


def decide(request: dict[str, Any]) -> dict[str, Any]:
    """The request to send on: to S3 unchanged but for its headers, or to the web origin."""
    origin = request.get("origin", {})
    s3 = origin.get("s3")
    own = (s3 or origin.get("custom") or {}).get("customHeaders") or {}
    publishing = publish_fetch(request, _value(own, PUBLISH_KEY_HEADER))
    if publishing is False:
        return dict(REFUSED)
    if s3 is None:
        return _without_config(request)  # the web origin (a failover): it goes on as it is
    headers: Headers = own  # the bucket origin's
    settings = {name: _value(headers, name) for name in CONFIG_HEADERS}
    web_headers = {name: values for name, values in headers.items() if not name.startswith(CONFIG_PREFIX)}
    domain, protocol = settings[WEB_DOMAIN_HEADER], settings[WEB_PROTOCOL_HEADER]
    if (not publishing and s3_can_serve(request)) or not domain or protocol not in ("https", "http"):
        s3["customHeaders"] = {}  # S3 needs none, and the web origin's secret must not travel to it
        return _without_config(request)
    request["origin"] = {
        "custom": {
            "customHeaders": web_headers,
            "domainName": domain,
            "keepaliveTimeout": WEB_KEEPALIVE_TIMEOUT_S,
            "path": "",
            "port": 443 if protocol == "https" else 80,
            "protocol": protocol,
            "readTimeout": WEB_READ_TIMEOUT_S,
            "sslProtocols": list(WEB_SSL_PROTOCOLS),
        }
    }
    request.setdefault("headers", {})["host"] = [{"key": "Host", "value": domain}]
    return _without_config(request)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    request: dict[str, Any] = event["Records"][0]["cf"]["request"]
    try:
        return decide(request)
    except Exception:  # the function must never turn a page view into a 5xx
        logger.exception("origin-request decision failed; the request goes to the origin CloudFront chose")
        if names_publish_param(request.get("querystring")):
            return dict(REFUSED)  # never past the caches on the publisher's parameter unchecked
        s3 = (request.get("origin") or {}).get("s3")
        if isinstance(s3, dict):
            s3["customHeaders"] = {}  # S3 needs none, and the web origin's secret must not travel to it
        return _without_config(request)


def _value(headers: Headers, name: str) -> str:
    values = headers.get(name)
    return values[0].get("value", "") if values else ""


def _without_config(request: dict[str, Any]) -> dict[str, Any]:
    """The request with no configuration header left, in its origin's custom headers or its own headers."""
    for origin in (request.get("origin") or {}).values():
        if isinstance(origin, dict) and isinstance(origin.get("customHeaders"), dict):
            origin["customHeaders"] = {
                k: v for k, v in origin["customHeaders"].items() if not k.startswith(CONFIG_PREFIX)
            }
    if isinstance(request.get("headers"), dict):
        request["headers"] = {k: v for k, v in request["headers"].items() if not k.startswith(CONFIG_PREFIX)}
    return request
