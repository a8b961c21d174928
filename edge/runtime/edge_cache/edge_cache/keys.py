"""Request path -> S3 key of its cached copy: the key CloudFront reads for that path, and the publisher writes.

CloudFront asks the cache bucket for the origin path `/pages` followed by the viewer's URI, and S3 decodes the
percent-encoding of that path into the key. So a page's key is `pages` + its decoded path, `/` and `/news/`
included (`pages/`, `pages/news/`). The publisher only stores paths that mean one thing: anything that could
leave the prefix or alias another page (dot segments, empty segments, encoded or back slashes, control
characters, double encoding, overlong input) and invalidation wildcards (`*`) yield None.
"""

from __future__ import annotations

from urllib.parse import unquote

PAGES_PREFIX = "pages/"
# Longer paths go to the origin; S3 keys stop at 1024 bytes and real page paths are far shorter.
MAX_PATH_LENGTH = 512
_ENCODED_SEPARATORS = ("%2f", "%5c", "%00")
_NOT_IN_A_PATH = ("\\", "*", "?", "#", "%")  # after decoding: back slash, wildcard, query, fragment, double encoding


def cache_key(path: str) -> str | None:
    """The key under PAGES_PREFIX for a request path (CloudFront's percent-encoded `uri`), or None."""
    if not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
        return None
    if any(marker in path.lower() for marker in _ENCODED_SEPARATORS):
        return None
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if any(c in decoded for c in _NOT_IN_A_PATH) or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return None
    segments = decoded.split("/")[1:]
    if any(segment in (".", "..") for segment in segments) or "" in segments[:-1]:
        return None  # dot segments, and empty ones ("//") that would make a second key for one page
    key = PAGES_PREFIX.rstrip("/") + decoded
    return key if len(key.encode()) <= 1024 else None
