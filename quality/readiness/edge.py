"""The seam between CloudFront and its origins: what crosses it, what rests in configuration others can read, and
where edge functions really run.

Each rule is one class of defect the edge/web review found (issue 20), written so that the defect, built
again, fails `cdk synth`:
- OriginLegEncrypted: a request from CloudFront to an origin in clear text.
- SecretNotInReadableConfig: a secret in a CloudFront origin header or a load balancer rule condition.
- VpcOriginWithoutOriginFacingFunction: a VPC origin behind an origin-request/-response Lambda@Edge trigger.
- EdgeLogsWhereFunctionRuns: a Lambda@Edge log group in a region the function never runs in, or none where it does.
- OacOriginNotRedirected: an origin-facing Lambda@Edge function that can redirect requests for an OAC origin.
- RateRuleSparesFetcher: a function fetching through its own distribution, whose web ACL rate-limits per IP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from quality.readiness.base import Check, Context, Finding
from quality.readiness.template import StackTemplate, as_list, refs, render

_CLEAR = ("http-only", "match-viewer")
_ORIGIN_FACING = ("origin-request", "origin-response")
_DYNAMIC_SECRETS = ("{{resolve:secretsmanager:", "{{resolve:ssm-secure:")
_REPLICA_LOGS = "/aws/lambda/us-east-1."  # Lambda@Edge replicas log to this prefix in each region they run in


def _config(context: Context, logical_id: str) -> dict[str, Any]:
    return context.stack.props(logical_id).get("DistributionConfig", {})  # type: ignore[no-any-return]


def _origins(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(o.get("Id")): o for o in as_list(config.get("Origins"))}


def _behaviors(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "default", config.get("DefaultCacheBehavior", {})
    for behavior in as_list(config.get("CacheBehaviors")):
        yield str(behavior.get("PathPattern")), behavior


def _members(config: dict[str, Any], behavior: dict[str, Any]) -> list[dict[str, Any]]:
    """The origins a behaviour's requests may go to: its origin, or both members of its origin group."""
    origins, target = _origins(config), behavior.get("TargetOriginId")
    for group in as_list(config.get("OriginGroups", {}).get("Items")):
        if group.get("Id") == target:
            return [origins[m["OriginId"]] for m in as_list(group["Members"]["Items"]) if m["OriginId"] in origins]
    return [origins[target]] if target in origins else []


def _origin_facing(behavior: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in as_list(behavior.get("LambdaFunctionAssociations")) if a.get("EventType") in _ORIGIN_FACING]


def _has_secret(value: Any) -> bool:
    if isinstance(value, str):
        return any(marker in value for marker in _DYNAMIC_SECRETS)
    if isinstance(value, dict):
        return any(_has_secret(v) for v in value.values())
    return isinstance(value, list) and any(_has_secret(v) for v in value)


# --- OriginLegEncrypted --------------------------------------------------------------------------


def _custom_origin_leg(context: Context, logical_id: str) -> list[Finding]:
    findings = []
    for origin_id, origin in _origins(_config(context, logical_id)).items():
        policy = origin.get("CustomOriginConfig", {}).get("OriginProtocolPolicy")
        if policy in _CLEAR:
            findings.append(
                Finding(
                    origin_id,
                    f"custom origin {origin_id} is reached with {policy}: requests (and any header that is to prove "
                    "they come from this distribution) cross the internet in clear text.",
                )
            )
    return findings


def _vpc_origin_leg(context: Context, logical_id: str) -> list[Finding]:
    endpoint = context.stack.props(logical_id).get("VpcOriginEndpointConfig", {})
    policy = endpoint.get("OriginProtocolPolicy", "match-viewer")  # CloudFormation's default
    if policy not in _CLEAR:
        return []
    return [
        Finding(
            "http",
            f"this VPC origin is reached with {policy}: the leg stays inside AWS's network and the VPC, but carries "
            "requests without TLS; with a certificate for a name of yours on the load balancer, use https-only.",
        )
    ]


def _origin_leg(context: Context, logical_id: str) -> list[Finding]:
    if context.stack.type_of(logical_id) == "AWS::CloudFront::VpcOrigin":
        return _vpc_origin_leg(context, logical_id)
    return _custom_origin_leg(context, logical_id)


# --- SecretNotInReadableConfig -------------------------------------------------------------------


def _origin_header_secrets(context: Context, logical_id: str) -> list[Finding]:
    findings = []
    for origin_id, origin in _origins(_config(context, logical_id)).items():
        for header in as_list(origin.get("OriginCustomHeaders")):
            if _has_secret(header.get("HeaderValue")):
                name = str(header.get("HeaderName"))
                findings.append(
                    Finding(
                        f"{origin_id}.{name}",
                        f"origin {origin_id} sends {name} with a secret's value, which "
                        "cloudfront:GetDistributionConfig returns to any principal allowed to read the distribution "
                        "(ReadOnlyAccess is).",
                    )
                )
    return findings


def _listener_rule_secrets(context: Context, logical_id: str) -> list[Finding]:
    findings = []
    for condition in as_list(context.stack.props(logical_id).get("Conditions")):
        if _has_secret(condition):
            field = str(condition.get("Field"))
            findings.append(
                Finding(
                    field,
                    f"its {field} condition holds a secret's value, which elasticloadbalancing:DescribeRules returns "
                    "to any principal allowed to describe load balancers (ReadOnlyAccess is).",
                )
            )
    return findings


def _readable_secrets(context: Context, logical_id: str) -> list[Finding]:
    if context.stack.type_of(logical_id) == "AWS::ElasticLoadBalancingV2::ListenerRule":
        return _listener_rule_secrets(context, logical_id)
    return _origin_header_secrets(context, logical_id)


# --- VpcOriginWithoutOriginFacingFunction ---------------------------------------------------------


def _vpc_origin_behind_function(context: Context, logical_id: str) -> list[Finding]:
    config = _config(context, logical_id)
    findings = []
    for name, behavior in _behaviors(config):
        vpc = [o["Id"] for o in _members(config, behavior) if "VpcOriginConfig" in o]
        if vpc and _origin_facing(behavior):
            findings.append(
                Finding(
                    name,
                    f"behaviour {name} runs an origin-facing Lambda@Edge trigger in front of VPC origin "
                    f"{', '.join(vpc)}, which VPC origins do not support.",
                )
            )
    return findings


# --- EdgeLogsWhereFunctionRuns ---------------------------------------------------------------------


def _shield_region(config: dict[str, Any], behavior: dict[str, Any]) -> str | None:
    """The one region where a behaviour's origin-facing triggers run: its origins' common Origin Shield region."""
    shields = {
        (o.get("OriginShield") or {}).get("OriginShieldRegion")
        if (o.get("OriginShield") or {}).get("Enabled")
        else None
        for o in _members(config, behavior)
    }
    region = shields.pop() if len(shields) == 1 else None
    return region if isinstance(region, str) else None


def _edge_regions(stacks: tuple[StackTemplate, ...], stage: str) -> set[str | None]:
    """Where the stage's Lambda@Edge functions run: Origin Shield regions, None for 'some region we cannot name'
    (viewer-facing triggers, unshielded origins: the regional edge caches')."""
    regions: set[str | None] = set()
    for stack in (s for s in stacks if s.stage == stage):
        for _, distribution in stack.of_type("AWS::CloudFront::Distribution"):
            config = distribution.get("Properties", {}).get("DistributionConfig", {})
            for _, behavior in _behaviors(config):
                for association in as_list(behavior.get("LambdaFunctionAssociations")):
                    facing = association.get("EventType") in _ORIGIN_FACING
                    regions.add(_shield_region(config, behavior) if facing else None)
    return regions


def _replica_group(stack: StackTemplate, logical_id: str) -> bool:
    return (render(stack.props(logical_id).get("LogGroupName"), "*") or "").startswith(_REPLICA_LOGS)


def _log_group_region(context: Context, logical_id: str) -> list[Finding]:
    if not _replica_group(context.stack, logical_id):
        return []
    regions = _edge_regions(context.stacks, context.stack.stage)
    if not regions or None in regions or context.stack.region in regions:
        return []
    return [
        Finding(
            context.stack.region,
            f"a Lambda@Edge replica log group in {context.stack.region}, where the stage's functions never run: "
            f"behind Origin Shield their origin-facing triggers run in {', '.join(sorted(map(str, regions)))}.",
        )
    ]


def _logs_where_function_runs(context: Context, logical_id: str) -> list[Finding]:
    config = _config(context, logical_id)
    findings = []
    for name, behavior in _behaviors(config):
        region = _shield_region(config, behavior) if _origin_facing(behavior) else None
        if region is None:
            continue
        kept = any(
            stack.region == region
            and any(_replica_group(stack, group) for group, _ in stack.of_type("AWS::Logs::LogGroup"))
            for stack in context.stacks
            if stack.stage == context.stack.stage
        )
        if not kept:
            findings.append(
                Finding(
                    f"{name}.{region}",
                    f"behaviour {name}'s origin-facing function runs in {region} (Origin Shield), where no stack of "
                    "this stage creates its log group: the first invocation creates one without retention.",
                )
            )
    return findings


def _edge_logs(context: Context, logical_id: str) -> list[Finding]:
    if context.stack.type_of(logical_id) == "AWS::Logs::LogGroup":
        return _log_group_region(context, logical_id)
    return _logs_where_function_runs(context, logical_id)


# --- OacOriginNotRedirected ----------------------------------------------------------------------


def _oac_redirect(context: Context, logical_id: str) -> list[Finding]:
    config = _config(context, logical_id)
    findings = []
    for name, behavior in _behaviors(config):
        if not _origin_facing(behavior):
            continue
        members = _members(config, behavior)
        oac = [o for o in members if o.get("OriginAccessControlId") is not None]
        if oac and len(members) > len(oac):
            findings.append(
                Finding(
                    f"{name}.redirect",
                    f"behaviour {name}'s origin-facing function sees requests for an OAC origin and another origin, so "
                    "it can switch a request between them, and OAC does not sign a request redirected that way.",
                )
            )
        if any(o.get("OriginCustomHeaders") for o in oac):
            findings.append(
                Finding(
                    f"{name}.headers",
                    f"behaviour {name}'s OAC origin carries custom headers for its function: a function that removes "
                    "them rewrites request.origin of a request CloudFront must sign; carry settings another way.",
                )
            )
    return findings


# --- RateRuleSparesFetcher -----------------------------------------------------------------------


def _domain_names(value: Any) -> set[str]:
    """Logical ids whose DomainName attribute `value` reads (Fn::GetAtt [id, DomainName])."""
    if isinstance(value, list):
        return {i for item in value for i in _domain_names(item)}
    if not isinstance(value, dict):
        return set()
    target = value.get("Fn::GetAtt")
    found = {str(target[0])} if isinstance(target, list) and target[1:] == ["DomainName"] else set()
    return found | {i for item in value.values() for i in _domain_names(item)}


def _fetched_distributions(context: Context, logical_id: str) -> list[str]:
    """Distributions of this stack whose domain name the function's environment holds (it fetches through them);
    their id alone (an invalidation, an update) is no fetch."""
    variables = context.stack.props(logical_id).get("Environment", {}).get("Variables", {})
    named = _domain_names(variables)
    return sorted(n for n in named if context.stack.type_of(n) == "AWS::CloudFront::Distribution")


def _unscoped_rate_rules(context: Context, acl: Any) -> list[str] | None:
    """Names of the ACL's rate-based rules that count every request; None when the ACL is not in this stack."""
    found = [i for i in refs(acl) if context.stack.type_of(i) == "AWS::WAFv2::WebACL"]
    if not found:
        return None
    rules = as_list(context.stack.props(found[0]).get("Rules"))
    return [
        str(r.get("Name"))
        for r in rules
        if "RateBasedStatement" in r.get("Statement", {})
        and "ScopeDownStatement" not in r["Statement"]["RateBasedStatement"]
    ]


def _fetcher_rate_limited(context: Context, logical_id: str) -> list[Finding]:
    findings = []
    for distribution in _fetched_distributions(context, logical_id):
        acl = context.stack.props(distribution).get("DistributionConfig", {}).get("WebACLId")
        if acl is None:
            continue
        unscoped = _unscoped_rate_rules(context, acl)
        for rule in unscoped if unscoped is not None else ["acl"]:
            what = f"rate-based rule {rule}" if rule != "acl" else "its web ACL (not readable here)"
            findings.append(
                Finding(
                    rule,
                    f"it fetches through {distribution}, where {what} counts its requests per IP with no scope-down "
                    "statement to leave them out: a full republish can be blocked.",
                )
            )
    return findings


_OLE = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide"
CHECKS = [
    Check(
        name="OriginLegEncrypted",
        info="CloudFront reaches an origin without TLS:",
        explanation=(
            "'Require HTTPS to improve the security of this solution' (Restrict access to Application Load "
            f"Balancers, {_OLE}/restrict-access-to-load-balancer.html): a custom origin reached with http-only or "
            "match-viewer sends requests, and any header meant to prove they come from CloudFront, across the "
            "internet in clear text. A VPC origin keeps the leg inside AWS ('over a private, secure connection', "
            f"Restrict access with VPC origins, {_OLE}/private-content-vpc-origins.html) yet without TLS unless "
            "https-only, which needs a certificate for a name of yours: acknowledge it with that reason, or set one."
        ),
        resource_types=frozenset({"AWS::CloudFront::Distribution", "AWS::CloudFront::VpcOrigin"}),
        findings=_origin_leg,
    ),
    Check(
        name="SecretNotInReadableConfig",
        info="A secret sits where read-only principals read it:",
        explanation=(
            "GetDistributionConfig returns each origin's CustomHeaders with their HeaderValue, and DescribeRules "
            "returns each rule's Conditions with their Values (CloudFront and Elastic Load Balancing API "
            "References); a {{resolve:secretsmanager:...}} reference keeps the value out of the template, not out of "
            "the resource. Prove where a request comes from without a shared value (a VPC origin, OAC), or keep the "
            "value where only its users read it."
        ),
        resource_types=frozenset({"AWS::CloudFront::Distribution", "AWS::ElasticLoadBalancingV2::ListenerRule"}),
        findings=_readable_secrets,
    ),
    Check(
        name="VpcOriginWithoutOriginFacingFunction",
        info="An origin-facing Lambda@Edge trigger sits in front of a VPC origin:",
        explanation=(
            "'VPC origins do not support the following: WebSockets, gRPC traffic, Origin request and origin response "
            f"triggers with Lambda@Edge' (Restrict access with VPC origins, {_OLE}/private-content-vpc-origins.html). "
            "Route without the trigger (an origin group), or keep the function off the behaviours that reach the VPC "
            "origin."
        ),
        resource_types=frozenset({"AWS::CloudFront::Distribution"}),
        findings=_vpc_origin_behind_function,
    ),
    Check(
        name="EdgeLogsWhereFunctionRuns",
        info="A Lambda@Edge function logs where no log group with retention waits for it:",
        explanation=(
            "'When you use Origin Shield with Lambda@Edge, origin-facing triggers (origin request and origin response) "
            f"run in the AWS Region where Origin Shield is enabled' (Using Origin Shield, {_OLE}/origin-shield.html), "
            "and replicas write to /aws/lambda/us-east-1.<function> in the region that runs them (Edge function logs, "
            f"{_OLE}/edge-functions-logs.html). A group elsewhere stays empty; the one that fills is created by the "
            "service, without retention, unless a stack in that region creates it first."
        ),
        resource_types=frozenset({"AWS::CloudFront::Distribution", "AWS::Logs::LogGroup"}),
        findings=_edge_logs,
    ),
    Check(
        name="OacOriginNotRedirected",
        info="An origin-facing Lambda@Edge function may redirect requests for an OAC origin:",
        explanation=(
            "'OAC doesn't support origin redirect by using Lambda@Edge' (Restrict access to an Amazon S3 origin, "
            f"{_OLE}/private-content-restricting-access-to-s3.html): a request the function moves to or rewrites for "
            "an S3 origin may reach S3 unsigned, and every read fails (403). Leave request.origin untouched for S3 "
            "requests and carry settings another way; acknowledge with the test that shows the function does."
        ),
        resource_types=frozenset({"AWS::CloudFront::Distribution"}),
        findings=_oac_redirect,
    ),
    Check(
        name="RateRuleSparesFetcher",
        info="A function fetches through a distribution whose web ACL rate-limits it:",
        explanation=(
            "A rate-based rule counts requests per aggregation instance (by default each IP) and, 'When you use a "
            "scope-down statement, the rate-based rule only tracks and rate limits requests that match' it (AWS WAF "
            "API Reference, RateBasedStatement). A publisher's fetches come from a few Lambda addresses, so a full "
            "republish meets the per-IP limit: fetch from the origin itself, or exempt the fetcher with a scope-down "
            "statement."
        ),
        resource_types=frozenset({"AWS::Lambda::Function"}),
        findings=_fetcher_rate_limited,
    ),
]
