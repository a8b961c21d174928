"""The CloudFront distribution: web origin with the edge function, assets straight from S3 through OAC."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.common.checkov import skip_check
from stacks.common.nag import acknowledge
from stacks.common.origin import WebOrigin
from stacks.edge.config import CacheBehaviorConfig, EdgeConfig

# Headers of the web origin that configure the edge function (read in lambda/edge_cache origin_request.py).
BUCKET_HEADER = "x-page-cache-bucket"
REGION_HEADER = "x-page-cache-region"
TIMEOUT_HEADER = "x-page-cache-timeout-ms"
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
    """HTTPS-only distribution with per-path cache policies, security headers, logs, the origin secret header,
    a web ACL when the stage has one, and optional aliases."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        web_origin: WebOrigin,
        cache_bucket: s3.IBucket,
        cache_region: str,
        log_bucket: s3.IBucket,
        edge_version: cloudfront.experimental.EdgeFunction,
        web_acl_arn: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # The secret header the web origin requires, as a dynamic reference CloudFormation resolves at deploy.
        verify = (
            {web_origin.verification.header: web_origin.verification.secret.secret_value.unsafe_unwrap()}
            if web_origin.verification
            else {}
        )
        web = origins.HttpOrigin(
            web_origin.domain_name,
            protocol_policy=(
                cloudfront.OriginProtocolPolicy.HTTPS_ONLY
                if web_origin.https
                else cloudfront.OriginProtocolPolicy.HTTP_ONLY
            ),
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            custom_headers={
                BUCKET_HEADER: cache_bucket.bucket_name,
                REGION_HEADER: cache_region,
                TIMEOUT_HEADER: str(config.cache_lookup_timeout_ms),
                **verify,
            },
            origin_shield_enabled=config.origin_shield_region is not None,
            origin_shield_region=config.origin_shield_region,
        )
        assets = origins.S3BucketOrigin.with_origin_access_control(cache_bucket)
        headers = cloudfront.ResponseHeadersPolicy(
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
        edge = [
            cloudfront.EdgeLambda(
                function_version=edge_version.current_version,
                event_type=cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST,
            )
        ]

        def page_behavior(policy_id: str, ttls: tuple[int, int, int], comment: str) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=web,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
                compress=True,
                cache_policy=self._cache_policy(policy_id, ttls, comment),
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                response_headers_policy=headers,
                edge_lambdas=edge,
            )

        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            if config.certificate_arn
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            # The origin's revision: a replaced origin changes this template, so the new address is picked up.
            comment=f"Edge cache in front of the web app (origin {web_origin.revision})",
            default_behavior=page_behavior(
                "PagesCache",
                (config.default_min_ttl_s, config.default_ttl_s, config.default_max_ttl_s),
                "Pages (default behaviour)",
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
                    behavior.path_pattern: page_behavior(
                        f"Cache{index}", _ttls(behavior), f"Pages under {behavior.path_pattern}"
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
            acknowledge(self.distribution, "AwsSolutions-CFR4", reason)
            skip_check(self.distribution, "CKV_AWS_174", reason)
        if not web_acl_arn:
            reason = "Sandbox stays cheap: no web ACL; prod creates one (edge.waf_enabled) or takes edge.web_acl_arn."
            acknowledge(self.distribution, "AwsSolutions-CFR2", reason)
            skip_check(self.distribution, "CKV_AWS_68", reason)
        if not web_origin.https:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR5",
                "The web origin is this app's load balancer without a certificate, reached over HTTP only; set "
                "web.https and web.certificate_arn to encrypt the CloudFront-to-origin leg.",
            )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A news site is served worldwide; geo restrictions would block legitimate readers.",
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
            query_string_behavior=cloudfront.CacheQueryStringBehavior.all(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )


def _ttls(behavior: CacheBehaviorConfig) -> tuple[int, int, int]:
    return behavior.min_ttl_s, behavior.default_ttl_s, behavior.max_ttl_s
