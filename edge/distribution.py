"""The CloudFront distribution: pages from the S3 cache with the web origin behind it (an origin group), assets
from S3."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from edge.buckets import PAGES_PREFIX
from edge.config import CacheBehaviorConfig, EdgeConfig
from quality.declare import acknowledge, skip_check
from shared.origin import WebOrigin

# What makes CloudFront ask the web origin after S3: the page is not in the bucket (403: CloudFront may not
# list it) or S3 failed or throttled (503 Slow Down while it scales). Origin groups fail over for GET, HEAD and
# OPTIONS only, which is all the page behaviours allow.
FAILOVER_STATUS_CODES = (403, 500, 502, 503, 504)
# The web origin's timeouts (CloudFront's defaults, stated).
WEB_READ_TIMEOUT_S = 30
WEB_KEEPALIVE_TIMEOUT_S = 5
_TLS_POLICIES = {
    "TLSv1.2_2021": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
    "TLSv1.2_2025": cloudfront.SecurityPolicyProtocol.TLS_V1_2_2025,
    "TLSv1.3_2025": cloudfront.SecurityPolicyProtocol.TLS_V1_3_2025,
}
_PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}


class CacheDistribution(Construct):
    """HTTPS-only distribution: pages from S3 with the web origin behind it, assets from S3, headers, logs.

    Every page behaviour's origin is an origin group: the cache bucket through OAC (under `pages/`), then the
    web origin, which CloudFront asks when S3 has no copy (403) or fails (5xx). This app's web origin is a VPC
    origin on the internal load balancer: no public listener and no shared secret. VPC origins "do not support
    [...] Origin request and origin response triggers with Lambda@Edge" (Restrict access with VPC origins,
    CloudFront Developer Guide), so no function sits on these behaviours: the origin group routes, and the
    publisher fetches fresh pages inside the VPC. Both page origins sit behind Origin Shield when the stage sets
    it. A web ACL is attached when the stage has one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        web_origin: WebOrigin,
        cache_bucket: s3.IBucket,
        log_bucket: s3.IBucket,
        web_acl_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._web_vpc_origin: cloudfront.VpcOrigin | None = None
        access = cloudfront.S3OriginAccessControl(self, "CacheAccess", description="CloudFront reads the cache bucket")
        self._shield_region = config.origin_shield_region
        pages = origins.S3BucketOrigin.with_origin_access_control(
            cache_bucket,
            origin_access_control=access,
            origin_path=f"/{PAGES_PREFIX.strip('/')}",
            origin_shield_enabled=self._shield_region is not None,
            origin_shield_region=self._shield_region,
        )
        self.pages_origin = origins.OriginGroup(
            primary_origin=pages,
            fallback_origin=self._build_web_origin(web_origin),
            fallback_status_codes=list(FAILOVER_STATUS_CODES),
        )
        assets = origins.S3BucketOrigin.with_origin_access_control(cache_bucket, origin_access_control=access)
        headers = self._build_security_headers()
        self.distribution = self._build_distribution(
            config=config,
            web_origin=web_origin,
            assets=assets,
            headers=headers,
            log_bucket=log_bucket,
            web_acl_arn=web_acl_arn,
        )
        self._acknowledge(config=config, web_origin=web_origin, web_acl_arn=web_acl_arn)

    def _build_web_origin(self, web_origin: WebOrigin) -> cloudfront.IOrigin:
        """A VPC origin on this app's internal load balancer, or an HTTPS custom origin outside the app."""
        read, keepalive = Duration.seconds(WEB_READ_TIMEOUT_S), Duration.seconds(WEB_KEEPALIVE_TIMEOUT_S)
        shielded = self._shield_region is not None
        if web_origin.load_balancer is None:
            return origins.HttpOrigin(
                web_origin.domain_name,
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                read_timeout=read,
                keepalive_timeout=keepalive,
                origin_shield_enabled=shielded,
                origin_shield_region=self._shield_region,
            )
        # A new VPC origin when the load balancer is replaced (the revision is in its id): CloudFront updates a
        # VPC origin only once no distribution uses it, so the distribution moves to the new one instead.
        vpc_origin = cloudfront.VpcOrigin(
            self,
            f"Web{web_origin.revision}",
            endpoint=cloudfront.VpcOriginEndpoint.application_load_balancer(web_origin.load_balancer),
            protocol_policy=(
                cloudfront.OriginProtocolPolicy.HTTPS_ONLY
                if web_origin.https
                else cloudfront.OriginProtocolPolicy.HTTP_ONLY
            ),
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
        )
        self._web_vpc_origin = vpc_origin
        # With a certificate, CloudFront sends the name it covers and checks the certificate against it.
        return origins.VpcOrigin.with_vpc_origin(
            vpc_origin,
            domain_name=web_origin.tls_name if web_origin.https else None,
            read_timeout=read,
            keepalive_timeout=keepalive,
            origin_shield_enabled=shielded,
            origin_shield_region=self._shield_region,
        )

    def _build_security_headers(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Security headers on every response",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.SAMEORIGIN, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(protection=True, mode_block=True, override=True),
            ),
        )

    def _page_behavior(
        self, policy_id: str, ttls: tuple[int, int, int], comment: str, headers: cloudfront.IResponseHeadersPolicy
    ) -> cloudfront.BehaviorOptions:
        # No origin request policy: S3 and the web origin get the cache key only (the path), so the page the
        # web origin renders is the page every viewer of that path gets.
        return cloudfront.BehaviorOptions(
            origin=self.pages_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
            compress=True,
            cache_policy=self._cache_policy(policy_id, ttls, comment),
            response_headers_policy=headers,
        )

    def _build_distribution(
        self,
        *,
        config: EdgeConfig,
        web_origin: WebOrigin,
        assets: cloudfront.IOrigin,
        headers: cloudfront.IResponseHeadersPolicy,
        log_bucket: s3.IBucket,
        web_acl_arn: str | None,
    ) -> cloudfront.Distribution:
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            if config.certificate_arn
            else None
        )
        return cloudfront.Distribution(
            self,
            "Distribution",
            # The origin's revision: a replaced origin changes this template, so the new address is picked up.
            comment=f"Edge cache in front of the web app (origin {web_origin.revision})",
            default_behavior=self._page_behavior(
                "PagesCache",
                (config.default_min_ttl_s, config.default_ttl_s, config.default_max_ttl_s),
                "Pages (default behaviour)",
                headers,
            ),
            additional_behaviors={
                config.assets_path_pattern: cloudfront.BehaviorOptions(
                    origin=assets,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    compress=True,
                    cache_policy=self._cache_policy(
                        "AssetsCache", (0, config.assets_ttl_s, max(config.assets_ttl_s, 31_536_000)), "Assets"
                    ),
                    response_headers_policy=headers,
                ),
                **{
                    behavior.path_pattern: self._page_behavior(
                        f"Cache{index}", _ttls(behavior), f"Pages under {behavior.path_pattern}", headers
                    )
                    for index, behavior in enumerate(config.behaviors)
                },
            },
            price_class=_PRICE_CLASSES[config.price_class],
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            # With the default *.cloudfront.net certificate CloudFront uses TLSv1 whatever is set here.
            minimum_protocol_version=_TLS_POLICIES[config.minimum_tls_version] if config.certificate_arn else None,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            web_acl_id=web_acl_arn,
            certificate=certificate,
            domain_names=list(config.aliases) or None,
        )

    def _cache_policy(self, construct_id: str, ttls: tuple[int, int, int], comment: str) -> cloudfront.CachePolicy:
        minimum, default, maximum = ttls
        return cloudfront.CachePolicy(
            self,
            construct_id,
            comment=comment,
            min_ttl=Duration.seconds(minimum),
            default_ttl=Duration.seconds(default),
            max_ttl=Duration.seconds(maximum),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            # A page is its path: query strings (tracking parameters above all) would multiply the copies and send
            # each variant to the origin.
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )

    def _acknowledge(self, *, config: EdgeConfig, web_origin: WebOrigin, web_acl_arn: str | None) -> None:
        """What cdk-nag, checkov and the deploy-readiness pack flag here on purpose, and why."""
        if self._web_vpc_origin is not None and not web_origin.https:
            acknowledge(
                self._web_vpc_origin,
                "DeployReadiness-OriginLegEncrypted[http]",
                "No certificate for a name the user owns (web.https=false): CloudFront reaches the internal load "
                "balancer over HTTP through its VPC origin, inside AWS's network and the VPC, never the internet, with "
                "no secret in the request; set web.https, web.certificate_arn and web.origin_domain_name for TLS.",
            )
        distribution = self.distribution
        if not config.certificate_arn:
            reason = (
                "Without a certificate in the stage config the default *.cloudfront.net certificate is used, and "
                "CloudFront then permits TLSv1 whatever is set; set edge.certificate_arn and aliases to enforce "
                "edge.minimum_tls_version (TLSv1.2_2021 or newer)."
            )
            acknowledge(distribution, "AwsSolutions-CFR4", reason)
            skip_check(distribution, "CKV_AWS_174", reason)
        if not web_acl_arn:
            reason = "Sandbox stays cheap: no web ACL; prod creates one (edge.waf_enabled) or takes edge.web_acl_arn."
            acknowledge(distribution, "AwsSolutions-CFR2", reason)
            skip_check(distribution, "CKV_AWS_68", reason)
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "A news site is served worldwide; geo restrictions would block legitimate readers.",
        )


def _ttls(behavior: CacheBehaviorConfig) -> tuple[int, int, int]:
    return behavior.min_ttl_s, behavior.default_ttl_s, behavior.max_ttl_s
