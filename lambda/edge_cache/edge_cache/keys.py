"""Request path -> S3 key of its cached copy, shared by the edge function and the publisher.

Hostile paths never become keys: anything that could leave the pages prefix or mean two things
(dot segments, encoded or back slashes, control characters, double encoding, overlong input) yields None.
"""

from __future__ import annotations

from urllib.parse import unquote

PAGES_PREFIX = "pages/"
INDEX_DOCUMENT = "index.html"
# Longer paths go to the origin; S3 keys stop at 1024 bytes and real page paths are far shorter.
MAX_PATH_LENGTH = 512
_ENCODED_SEPARATORS = ("%2f", "%5c", "%00")


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
    if "%" in decoded or "\\" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return None
    parts: list[str] = []
    for segment in decoded.split("/")[1:]:
        if segment in (".", ".."):
            return None
        if segment:  # "//" collapses: one page, one key
            parts.append(segment)
    if not parts or decoded.endswith("/"):
        parts.append(INDEX_DOCUMENT)
    key = PAGES_PREFIX + "/".join(parts)
    return key if len(key.encode()) <= 1024 else None
