"""Rules for the seam between CloudFront and its origins: each flags the defect it encodes, built again (the designs
issue 20 found), and passes the construct that avoids it."""

from __future__ import annotations

from typing import Any

from aws_cdk import App, Environment, Fn, SecretValue, Stack, Stage
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as waf

from tests.support.readiness import Findings, findings_fixture

ALB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef"
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
EDGE_VERSION = "arn:aws:lambda:us-east-1:123456789012:function:edge:3"
WEB_ACL = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0f1e2d3c"
Cfn = cloudfront.CfnDistribution


def _stack(app: App, stage: str, name: str, region: str = "eu-west-1") -> Stack:
    found = app.node.try_find_child(stage)
    scope = found if isinstance(found, Stage) else Stage(app, stage, env=Environment(region=region))
    return Stack(scope, name, env=Environment(region=region))


def _s3(origin_id: str, *, oac: bool = True, headers: dict[str, str] | None = None, shield: str | None = None) -> Any:
    return Cfn.OriginProperty(
        id=origin_id,
        domain_name="cache.s3.eu-west-1.amazonaws.com",
        s3_origin_config=Cfn.S3OriginConfigProperty(origin_access_identity=""),
        origin_access_control_id="E2QWRUHEXAMPLE" if oac else None,
        origin_custom_headers=[
            Cfn.OriginCustomHeaderProperty(header_name=k, header_value=v) for k, v in (headers or {}).items()
        ]
        or None,
        origin_shield=Cfn.OriginShieldProperty(enabled=True, origin_shield_region=shield) if shield else None,
    )


def _custom(origin_id: str, policy: str, headers: dict[str, str] | None = None, shield: str | None = None) -> Any:
    return Cfn.OriginProperty(
        id=origin_id,
        domain_name="web.example.com",
        custom_origin_config=Cfn.CustomOriginConfigProperty(origin_protocol_policy=policy),
        origin_custom_headers=[
            Cfn.OriginCustomHeaderProperty(header_name=k, header_value=v) for k, v in (headers or {}).items()
        ]
        or None,
        origin_shield=Cfn.OriginShieldProperty(enabled=True, origin_shield_region=shield) if shield else None,
    )


def _vpc(origin_id: str, vpc_origin_id: str, shield: str | None = None) -> Any:
    return Cfn.OriginProperty(
        id=origin_id,
        domain_name="internal-web.eu-west-1.elb.amazonaws.com",
        vpc_origin_config=Cfn.VpcOriginConfigProperty(vpc_origin_id=vpc_origin_id),
        origin_shield=Cfn.OriginShieldProperty(enabled=True, origin_shield_region=shield) if shield else None,
    )


def _distribution(
    stack: Stack, name: str, origins: list[Any], *, event: str | None = None, acl: str | None = None
) -> Cfn:
    """Pages from an origin group of the first two origins (or the one origin), with a Lambda@Edge `event`."""
    group = len(origins) > 1
    associations = [Cfn.LambdaFunctionAssociationProperty(event_type=event, lambda_function_arn=EDGE_VERSION)]
    return Cfn(
        stack,
        name,
        distribution_config=Cfn.DistributionConfigProperty(
            enabled=True,
            web_acl_id=acl,
            origins=origins,
            origin_groups=Cfn.OriginGroupsProperty(
                quantity=1,
                items=[
                    Cfn.OriginGroupProperty(
                        id="pages",
                        failover_criteria=Cfn.OriginGroupFailoverCriteriaProperty(
                            status_codes=Cfn.StatusCodesProperty(quantity=1, items=[403])
                        ),
                        members=Cfn.OriginGroupMembersProperty(
                            quantity=2, items=[Cfn.OriginGroupMemberProperty(origin_id=o.id) for o in origins[:2]]
                        ),
                    )
                ],
            )
            if group
            else None,
            default_cache_behavior=Cfn.DefaultCacheBehaviorProperty(
                target_origin_id="pages" if group else origins[0].id,
                viewer_protocol_policy="redirect-to-https",
                lambda_function_associations=associations if event else None,
            ),
        ),
    )


def _vpc_origin(stack: Stack, name: str, policy: str | None) -> cloudfront.CfnVpcOrigin:
    return cloudfront.CfnVpcOrigin(
        stack,
        name,
        vpc_origin_endpoint_config=cloudfront.CfnVpcOrigin.VpcOriginEndpointConfigProperty(
            arn=ALB, name=name, origin_protocol_policy=policy
        ),
    )


def _seam(app: App) -> None:
    stack = _stack(app, "prod", "Seam")
    # The leg: a custom origin over HTTP (the design before), over HTTPS; VPC origins over HTTP, by default, HTTPS.
    _distribution(stack, "ClearCustom", [_custom("web", "http-only")])
    _distribution(stack, "TlsCustom", [_custom("web", "https-only")])
    _vpc_origin(stack, "ClearVpcOrigin", "http-only")
    _vpc_origin(stack, "DefaultVpcOrigin", None)
    tls_vpc = _vpc_origin(stack, "TlsVpcOrigin", "https-only")
    # Secrets: an origin header and a listener rule holding the origin secret (the design before); plain values.
    secret = SecretValue.secrets_manager("origin-secret").unsafe_unwrap()
    _distribution(stack, "HeaderSecret", [_custom("web", "https-only", {"x-origin-verify": secret})])
    _distribution(stack, "HeaderPlain", [_custom("web", "https-only", {"x-page-cache-web-domain": "web.example.com"})])
    rules = elbv2.CfnListenerRule
    header = rules.HttpHeaderConfigProperty(http_header_name="x-origin-verify", values=[secret])
    paths = rules.PathPatternConfigProperty(values=["/*"])
    conditions = {
        "RuleSecret": rules.RuleConditionProperty(field="http-header", http_header_config=header),
        "RulePath": rules.RuleConditionProperty(field="path-pattern", path_pattern_config=paths),
    }
    answer = rules.ActionProperty(
        type="fixed-response", fixed_response_config=rules.FixedResponseConfigProperty(status_code="200")
    )
    for priority, (name, condition) in enumerate(conditions.items(), start=1):
        rules(stack, name, listener_arn=LISTENER, priority=priority, conditions=[condition], actions=[answer])
    # A VPC origin behind an origin-request trigger (what CloudFront does not support), and behind a viewer one.
    vpc = _vpc("web", tls_vpc.attr_id)
    _distribution(stack, "VpcBehindOriginFunction", [_s3("s3"), vpc], event="origin-request")
    _distribution(stack, "VpcBehindViewerFunction", [_s3("s3"), vpc], event="viewer-request")
    # OAC: the routing function of issue 11 (an OAC origin and a web origin, settings on the OAC origin's
    # headers), and a function in front of an OAC origin alone with nothing to redirect or strip.
    routed = [_s3("s3", headers={"x-page-cache-web-domain": "web.example.com"}), _custom("web", "https-only")]
    _distribution(stack, "OacRouted", routed, event="origin-request")
    _distribution(stack, "OacAlone", [_s3("s3")], event="origin-request")


def _logs(app: App) -> None:
    """Origin-facing triggers behind Origin Shield in eu-central-1: the replica log group of the design before
    (in the stage region) and one where the function runs."""
    for stage, logs_region in (("shielded", "eu-west-1"), ("logged", "eu-central-1")):
        stack = _stack(app, stage, "Edge")
        origins = [_s3("s3", shield="eu-central-1"), _custom("web", "https-only", shield="eu-central-1")]
        _distribution(stack, "Cdn", origins, event="origin-request")
        where = stack if logs_region == "eu-west-1" else _stack(app, stage, "ShieldRegion", region=logs_region)
        logs.LogGroup(
            where, "ReplicaLogs", log_group_name="/aws/lambda/us-east-1.edge-fn", retention=logs.RetentionDays.ONE_MONTH
        )


def _fetcher(stack: Stack, name: str, url: str) -> None:
    lambda_.CfnFunction(
        stack,
        name,
        code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(event, context): pass"),
        handler="index.handler",
        runtime="python3.13",
        role="arn:aws:iam::123456789012:role/publisher",
        environment=lambda_.CfnFunction.EnvironmentProperty(variables={"ORIGIN_URL": url}),
    )


def _rate_rule(name: str, *, scoped: bool) -> waf.CfnWebACL.RuleProperty:
    scope_down = waf.CfnWebACL.StatementProperty(
        byte_match_statement=waf.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=waf.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string="/",
            text_transformations=[waf.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
        )
    )
    return waf.CfnWebACL.RuleProperty(
        name=name,
        priority=0,
        action=waf.CfnWebACL.RuleActionProperty(block={}),
        statement=waf.CfnWebACL.StatementProperty(
            rate_based_statement=waf.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP", limit=10_000, scope_down_statement=scope_down if scoped else None
            )
        ),
        visibility_config=waf.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        ),
    )


def _publishers(app: App) -> None:
    """The publisher of issue 11 (fetching through its distribution, per-IP rate rule), and the ones that pass."""
    stack = _stack(app, "prod", "Publishers")
    for name, scoped in (("RatePerIp", False), ("ScopedRate", True)):
        acl = waf.CfnWebACL(
            stack,
            f"{name}Acl",
            default_action=waf.CfnWebACL.DefaultActionProperty(allow={}),
            scope="CLOUDFRONT",
            visibility_config=waf.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            ),
            rules=[_rate_rule(name, scoped=scoped)],
        )
        cdn = _distribution(stack, f"{name}Cdn", [_s3("s3")], acl=acl.attr_arn)
        _fetcher(stack, f"{name}Fetcher", Fn.join("", ["https://", cdn.attr_domain_name]))
    opaque = _distribution(stack, "OpaqueAclCdn", [_s3("s3")], acl=WEB_ACL)
    _fetcher(stack, "OpaqueAclFetcher", Fn.join("", ["https://", opaque.attr_domain_name]))
    _fetcher(stack, "InsideVpcFetcher", "http://internal-web.eu-west-1.elb.amazonaws.com")
    _fetcher(stack, "InvalidatorOnly", opaque.ref)  # names the distribution (its id), fetches nothing through it


def _build(app: object) -> None:
    assert isinstance(app, App)
    _seam(app)
    _logs(app)
    _publishers(app)


findings = findings_fixture(_build)
SEAM = "prod/Seam"


def test_a_clear_text_leg_to_an_origin_is_flagged(findings: Findings) -> None:
    """Finding 1: the web origin was http-only across the internet, header secret and all."""
    assert findings.rule_of(f"{SEAM}/ClearCustom", "OriginLegEncrypted") == {"web"}
    assert findings.rule_of(f"{SEAM}/TlsCustom", "OriginLegEncrypted") == set()
    assert findings.rule_of(f"{SEAM}/ClearVpcOrigin", "OriginLegEncrypted") == {"http"}
    assert findings.rule_of(f"{SEAM}/DefaultVpcOrigin", "OriginLegEncrypted") == {"http"}  # match-viewer by default
    assert findings.rule_of(f"{SEAM}/TlsVpcOrigin", "OriginLegEncrypted") == set()


def test_a_secret_in_an_origin_header_or_a_listener_condition_is_flagged(findings: Findings) -> None:
    """Findings 2, 4 and 5: the origin secret and the publish key rested in configuration read-only roles read."""
    assert findings.rule_of(f"{SEAM}/HeaderSecret", "SecretNotInReadableConfig") == {"web.x-origin-verify"}
    assert findings.rule_of(f"{SEAM}/HeaderPlain", "SecretNotInReadableConfig") == set()
    assert findings.rule_of(f"{SEAM}/RuleSecret", "SecretNotInReadableConfig") == {"http-header"}
    assert findings.rule_of(f"{SEAM}/RulePath", "SecretNotInReadableConfig") == set()


def test_an_origin_facing_function_in_front_of_a_vpc_origin_is_flagged(findings: Findings) -> None:
    """The constraint the design rests on: no origin-request or origin-response trigger reaches a VPC origin."""
    assert findings.rule_of(f"{SEAM}/VpcBehindOriginFunction", "VpcOriginWithoutOriginFacingFunction") == {"default"}
    assert findings.rule_of(f"{SEAM}/VpcBehindViewerFunction", "VpcOriginWithoutOriginFacingFunction") == set()


def test_replica_logs_must_be_where_origin_facing_triggers_run(findings: Findings) -> None:
    """Finding 6: behind Origin Shield in eu-central-1 the function logs there, not in the stage region."""
    assert findings.rule_of("shielded/Edge/ReplicaLogs", "EdgeLogsWhereFunctionRuns") == {"eu-west-1"}
    assert findings.rule_of("shielded/Edge/Cdn", "EdgeLogsWhereFunctionRuns") == {"default.eu-central-1"}
    assert findings.of("logged/ShieldRegion") == set()
    assert findings.rule_of("logged/Edge/Cdn", "EdgeLogsWhereFunctionRuns") == set()


def test_a_function_that_can_redirect_or_strip_an_oac_origin_is_flagged(findings: Findings) -> None:
    """Finding 7: OAC does not sign a request a Lambda@Edge function redirected."""
    assert findings.rule_of(f"{SEAM}/OacRouted", "OacOriginNotRedirected") == {"default.redirect", "default.headers"}
    assert findings.rule_of(f"{SEAM}/OacAlone", "OacOriginNotRedirected") == set()


def test_a_fetcher_counted_by_its_distributions_rate_rule_is_flagged(findings: Findings) -> None:
    """Finding 8: the publisher fetched through the distribution and its web ACL's per-IP rate rule."""
    assert findings.rule_of("prod/Publishers/RatePerIpFetcher", "RateRuleSparesFetcher") == {"RatePerIp"}
    assert findings.rule_of("prod/Publishers/ScopedRateFetcher", "RateRuleSparesFetcher") == set()
    assert findings.rule_of("prod/Publishers/OpaqueAclFetcher", "RateRuleSparesFetcher") == {"acl"}
    assert findings.rule_of("prod/Publishers/InsideVpcFetcher", "RateRuleSparesFetcher") == set()
    assert findings.rule_of("prod/Publishers/InvalidatorOnly", "RateRuleSparesFetcher") == set()
