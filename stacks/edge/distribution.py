"""The CloudFront distribution: pages from the S3 cache or the web origin (an origin group and an origin-request
Lambda@Edge that picks), assets from S3."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.common.checkov import skip_check
from stacks.common.nag import acknowledge
from stacks.common.origin import WebOrigin
from stacks.edge.buckets import PAGES_PREFIX
from stacks.edge.config import CacheBehaviorConfig, EdgeConfig
from stacks.edge.publisher import BYPASS_PARAM

# What makes CloudFront ask the web origin after S3: the page is not in the bucket (403: CloudFront may not
# list it) or S3 failed or throttled (503 Slow Down while it scales). Not 404, which S3 cannot answer here:
# when the edge function sent a request straight to the web origin, the web app's own 404 is the answer, not
# a reason to ask it twice. Origin groups fail over for GET, HEAD and OPTIONS only, which is all the page
# behaviours allow.
FAILOVER_STATUS_CODES = (403, 500, 502, 503, 504)
# Custom headers of the bucket origin that tell the edge function where the web origin is (Lambda@Edge has no
# environment variables; lambda/edge_cache origin_request.py reads and removes them). Not X-Edge-*: CloudFront
# refuses custom headers with that prefix.
WEB_DOMAIN_HEADER = "x-page-cache-web-domain"
WEB_PROTOCOL_HEADER = "x-page-cache-web-protocol"
# The key the publisher signs its fetches with, on both page origins (a failover is checked too).
PUBLISH_KEY_HEADER = "x-page-cache-publish-key"
# The web origin's timeouts, which the function repeats when it sends a request there itself.
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
    web origin. Its origin-request function runs on every fill: it sends what S3 can never serve (another
    method, another query string, a path with no cache key) straight to the web origin and the rest on to S3,
    which CloudFront reads itself (no S3 read in the function, no 1 MB generated-response cap). A page missing
    from S3, or an S3 error, fails over to the web origin. Both origins sit behind Origin Shield when the stage
    sets it, and the function then runs in that region only. The web origin gets the secret header it
    requires; the bucket origin carries it too, with the web origin's address, for the function, which
    removes them before S3 sees the request. A web ACL is attached when the stage has one.
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
        edge_function: cloudfront.experimental.EdgeFunction,
        publish_key: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        # The secret header the web origin requires, as a dynamic reference CloudFormation resolves at deploy.
        verify = (
            {web_origin.verification.header: web_origin.verification.secret.secret_value.unsafe_unwrap()}
            if web_origin.verification
            else {}
        )
        signing = {PUBLISH_KEY_HEADER: publish_key.secret_value.unsafe_unwrap()}  # resolved at deploy, as above
        access = cloudfront.S3OriginAccessControl(self, "CacheAccess", description="CloudFront reads the cache bucket")
        shielded = config.origin_shield_region is not None
        web = origins.HttpOrigin(
            web_origin.domain_name,
            protocol_policy=(
                cloudfront.OriginProtocolPolicy.HTTPS_ONLY
                if web_origin.https
                else cloudfront.OriginProtocolPolicy.HTTP_ONLY
            ),
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            read_timeout=Duration.seconds(WEB_READ_TIMEOUT_S),
            keepalive_timeout=Duration.seconds(WEB_KEEPALIVE_TIMEOUT_S),
            custom_headers={**verify, **signing},
            origin_shield_enabled=shielded,
            origin_shield_region=config.origin_shield_region,
        )
        pages = origins.S3BucketOrigin.with_origin_access_control(
            cache_bucket,
            origin_access_control=access,
            origin_path=f"/{PAGES_PREFIX.strip('/')}",
            custom_headers={
                WEB_DOMAIN_HEADER: web_origin.domain_name,
                WEB_PROTOCOL_HEADER: "https" if web_origin.https else "http",
                **verify,  # the secret's rotation rewrites it here too (it rewrites every origin that has it)
                **signing,
            },
            origin_shield_enabled=shielded,
            origin_shield_region=config.origin_shield_region,
        )
        self.pages_origin = origins.OriginGroup(
            primary_origin=pages, fallback_origin=web, fallback_status_codes=list(FAILOVER_STATUS_CODES)
        )
        assets = origins.S3BucketOrigin.with_origin_access_control(cache_bucket, origin_access_control=access)
        headers = self._build_security_headers()
        self._edge_lambdas = [
            cloudfront.EdgeLambda(
                function_version=edge_function.current_version,
                event_type=cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST,
            )
        ]
        self.distribution = self._build_distribution(
            config=config,
            web_origin=web_origin,
            assets=assets,
            headers=headers,
            log_bucket=log_bucket,
            web_acl_arn=web_acl_arn,
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
            edge_lambdas=self._edge_lambdas,
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
        distribution = cloudfront.Distribution(
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
        if not web_origin.https:
            acknowledge(
                distribution,
                "AwsSolutions-CFR5",
                "The web origin is this app's load balancer without a certificate, reached over HTTP only; set "
                "web.https and web.certificate_arn to encrypt the CloudFront-to-origin leg.",
            )
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "A news site is served worldwide; geo restrictions would block legitimate readers.",
        )
        return distribution

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
            # A page is its path: other query strings (tracking parameters above all) would multiply the copies
            # and send each variant to the origin. The publisher's own parameter makes its fetches miss.
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(BYPASS_PARAM),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )


def _ttls(behavior: CacheBehaviorConfig) -> tuple[int, int, int]:
    return behavior.min_ttl_s, behavior.default_ttl_s, behavior.max_ttl_s
