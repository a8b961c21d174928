"""Settings of the edge cache stack (CloudFront + Lambda@Edge + S3 page cache + Step Functions publisher)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from quality.declare import CACHE_POLICIES_PER_ACCOUNT
from stage.config_base import ConfigModel, check_retention

# CloudFront's own region: a CLOUDFRONT-scope web ACL (and a viewer certificate) must be created there.
EDGE_REGION = "us-east-1"
_HOST = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.){1,10}[a-z]{2,63}$"
_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
# Characters CloudFront accepts in a path pattern.
_PATH_PATTERN = r"^/?[A-Za-z0-9_\-.$/~\"'@:+*?&]{1,255}$"
# Each behaviour has a cache policy of its own, and so do the default and the assets behaviours; CloudFront
# allows 20 cache policies per account (stages sharing an account share them: the readiness rules count them).
MAX_BEHAVIORS = CACHE_POLICIES_PER_ACCOUNT - 2


class CacheBehaviorConfig(ConfigModel):
    """One path pattern of the distribution with its own TTLs (seconds)."""

    path_pattern: str = Field(pattern=_PATH_PATTERN)
    min_ttl_s: int = Field(default=0, ge=0, le=31_536_000)
    default_ttl_s: int = Field(ge=0, le=31_536_000)
    max_ttl_s: int = Field(ge=0, le=31_536_000)

    @model_validator(mode="after")
    def _rules(self) -> CacheBehaviorConfig:
        _check_ttls(self.min_ttl_s, self.default_ttl_s, self.max_ttl_s, ("min_ttl_s", "default_ttl_s", "max_ttl_s"))
        if self.path_pattern.strip("/") in ("*", ""):
            raise ValueError("path_pattern: '*' is the default behaviour; set default_*_ttl_s instead")
        return self


def _check_ttls(min_ttl: int, default_ttl: int, max_ttl: int, names: tuple[str, str, str]) -> None:
    min_name, default_name, max_name = names
    if not min_ttl <= default_ttl:
        raise ValueError(f"{default_name}: must be >= {min_name} ({min_ttl}), got {default_ttl}")
    if not default_ttl <= max_ttl:
        raise ValueError(f"{max_name}: must be >= {default_name} ({default_ttl}), got {max_ttl}")


class EdgeConfig(ConfigModel):
    """The edge cache stack."""

    origin_domain: str = Field(
        pattern=_HOST, description="HTTPS web origin used when the app holds no web service stack"
    )
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"
    default_min_ttl_s: int = Field(default=0, ge=0, le=31_536_000)
    default_ttl_s: int = Field(default=60, ge=0, le=31_536_000, description="pages without Cache-Control")
    default_max_ttl_s: int = Field(default=3_600, ge=0, le=31_536_000)
    behaviors: tuple[CacheBehaviorConfig, ...] = Field(default=(), max_length=MAX_BEHAVIORS)
    assets_path_pattern: str = Field(default="/assets/*", pattern=r"^/[a-z0-9_-]{1,64}/\*$")
    assets_ttl_s: int = Field(default=86_400, ge=0, le=31_536_000)
    waf_enabled: bool = Field(default=False, description="create a CLOUDFRONT web ACL (in us-east-1) for the site")
    waf_rate_limit_per_5min: int = Field(
        default=10_000, ge=10, le=2_000_000_000, description="requests per viewer IP in any 5 minutes, then blocked"
    )
    web_acl_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws:wafv2:us-east-1:\d{12}:global/webacl/[A-Za-z0-9_-]{1,128}/[A-Za-z0-9_-]{1,128}$",
        description="an existing CLOUDFRONT web ACL instead of creating one (shared across apps)",
    )
    minimum_tls_version: Literal["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"] = Field(
        default="TLSv1.2_2021",
        description="viewer security policy with a certificate; the default *.cloudfront.net one allows TLSv1",
    )
    certificate_arn: str | None = Field(
        default=None, pattern=r"^arn:aws:acm:us-east-1:\d{12}:certificate/[a-f0-9-]{36}$"
    )
    aliases: tuple[str, ...] = Field(default=(), max_length=100)
    origin_shield_region: str | None = Field(
        default=None,
        pattern=_REGION,
        description="one cache in front of both page origins (the S3 cache and the web origin)",
    )
    publish_concurrency: int = Field(default=10, ge=1, le=40, description="Map state max concurrency")
    publish_max_paths: int = Field(default=500, ge=1, le=3_000, description="paths per execution (invalidation cap)")
    publish_retry_attempts: int = Field(default=4, ge=0, le=10)
    publish_retry_interval_s: int = Field(default=2, ge=1, le=300)
    publish_backoff_rate: float = Field(default=2.0, ge=1.0, le=10.0)
    publish_max_delay_s: int = Field(default=60, ge=1, le=3_600)
    fetch_timeout_s: int = Field(default=10, ge=1, le=60)
    cached_object_expiry_days: int = Field(default=30, ge=1, le=3_650)
    access_log_expiry_days: int = Field(default=90, ge=1, le=3_650)
    log_retention_days: int = 30

    @model_validator(mode="after")
    def _rules(self) -> EdgeConfig:
        check_retention(self.log_retention_days, "log_retention_days")
        _check_ttls(
            self.default_min_ttl_s,
            self.default_ttl_s,
            self.default_max_ttl_s,
            ("default_min_ttl_s", "default_ttl_s", "default_max_ttl_s"),
        )
        patterns = [b.path_pattern for b in self.behaviors] + [self.assets_path_pattern]
        duplicates = sorted({p for p in patterns if patterns.count(p) > 1})
        if duplicates:
            raise ValueError(f"behaviors: path patterns must be unique, repeated: {', '.join(duplicates)}")
        self.refuse_unused(
            {
                # Without a certificate of its own the distribution keeps CloudFront's default one, whose policy
                # allows TLSv1 whatever this says.
                "minimum_tls_version": (bool(self.certificate_arn), "certificate_arn"),
                "waf_rate_limit_per_5min": (self.waf_enabled, "waf_enabled: true"),
            }
        )
        if self.waf_enabled and self.web_acl_arn:
            raise ValueError("waf_enabled: true creates a web ACL; it cannot be combined with web_acl_arn (choose one)")
        if bool(self.aliases) != bool(self.certificate_arn):
            raise ValueError(
                "aliases: aliases and certificate_arn go together (CloudFront needs a certificate for them)"
            )
        for alias in self.aliases:
            if not _valid_host(alias.removeprefix("*.")):
                raise ValueError(f"aliases: {alias!r} is not a DNS name")
        if self.publish_max_delay_s < self.publish_retry_interval_s:
            raise ValueError(
                f"publish_max_delay_s: must be >= publish_retry_interval_s ({self.publish_retry_interval_s}),"
                f" got {self.publish_max_delay_s}"
            )
        return self


def _valid_host(name: str) -> bool:
    return re.fullmatch(_HOST, name) is not None
