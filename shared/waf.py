"""A web ACL of AWS managed rule groups and a per-IP rate limit, for API Gateway (REGIONAL) or CloudFront."""

from __future__ import annotations

from typing import Literal

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# AWS's baseline groups (no subscription fee): common exploits and known-bad inputs (Log4j among them).
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
RATE_RULE = "RatePerIp"


def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def managed_rules_web_acl(
    scope: Construct,
    construct_id: str,
    *,
    acl_scope: Literal["REGIONAL", "CLOUDFRONT"],
    metric_name: str,
    rate_limit_per_5min: int,
) -> wafv2.CfnWebACL:
    """Allow by default; block what the managed groups match and any IP over the limit in 5 minutes."""

    def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=name
                )
            ),
            visibility_config=visibility(name),
        )

    rate = wafv2.CfnWebACL.RuleProperty(
        name=RATE_RULE,
        priority=len(MANAGED_RULE_GROUPS) + 1,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP", limit=rate_limit_per_5min
            )
        ),
        visibility_config=visibility(RATE_RULE),
    )
    return wafv2.CfnWebACL(
        scope,
        construct_id,
        scope=acl_scope,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=visibility(metric_name),
        rules=[*(managed(name, i) for i, name in enumerate(MANAGED_RULE_GROUPS, start=1)), rate],
    )
