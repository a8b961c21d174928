"""S3 adapter of the edge function: read one cached object within a time and size budget."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config


class CacheUnavailable(Exception):
    """S3 failed, timed out or refused: the caller must fall back to the origin."""


@dataclass(frozen=True)
class CachedObject:
    body: bytes
    content_type: str
    cache_control: str | None
    etag: str | None
    last_modified: str | None


@lru_cache(maxsize=8)
def client_for(region: str, timeout_ms: int) -> Any:
    """An S3 client per bucket region and budget, reused across invocations of a warm function."""
    # One attempt: a retry would spend the request's latency budget; the origin is the retry.
    seconds = timeout_ms / 1000
    config = Config(
        region_name=region,
        connect_timeout=seconds,
        read_timeout=seconds,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("s3", config=config)


class S3Store:
    """Reads cached pages from one bucket (in another region than most edge locations)."""

    def __init__(self, *, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self._client = client

    def get(self, key: str, *, max_bytes: int) -> CachedObject | None:
        """The object at `key`, None when absent or larger than `max_bytes`; CacheUnavailable on any error."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            return None
        except Exception as error:  # AccessDenied (absent key without ListBucket), throttling, timeouts, DNS
            raise CacheUnavailable(f"{type(error).__name__}: {error}") from error
        stream = response["Body"]
        try:
            if response.get("ContentLength", 0) > max_bytes:
                return None
            body = stream.read(max_bytes + 1)
        except Exception as error:
            raise CacheUnavailable(f"{type(error).__name__}: {error}") from error
        finally:
            stream.close()
        if len(body) > max_bytes:
            return None
        modified = response.get("LastModified")
        return CachedObject(
            body=body,
            content_type=response.get("ContentType") or "application/octet-stream",
            cache_control=response.get("CacheControl"),
            etag=response.get("ETag"),
            last_modified=modified.strftime("%a, %d %b %Y %H:%M:%S GMT") if modified else None,
        )
