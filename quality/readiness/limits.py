"""Limits: state payloads and history bounded by the declared maxima, log groups sized for vended logs, quotas.

- A state machine's worst-case history (Standard: 25,000 events per execution, child executions of a
  distributed Map counted on their own) and the results its Maps collect (256 KiB per state) stay within
  the limits for the largest input its construct declares with `declare_bounds` (the definition must
  enforce that maximum). Without a declaration an inline Map in a Standard workflow is unbounded.
- Step Functions writes logs through CloudWatch Logs' vended-log delivery, which grows the account's
  resource policy (5,120 characters) per log group unless the group is under /aws/vendedlogs/.
- CloudFront allows 20 cache policies per account; stages that share an account share the quota.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from quality.declare import CACHE_POLICIES_PER_ACCOUNT, METADATA_KEY
from quality.readiness.base import Check, Context, Finding
from quality.readiness.stepfunctions import HISTORY_LIMIT, Limits, analyse
from quality.readiness.template import PAYLOAD_LIMIT, StackTemplate, refs, render

if TYPE_CHECKING:
    pass

_VENDED = "/aws/vendedlogs/"


def definition(stack: StackTemplate, logical_id: str) -> dict[str, Any] | None:
    """The state machine's definition, with deploy-time values (ARNs, names) as placeholders."""
    props = stack.props(logical_id)
    if isinstance(props.get("Definition"), dict):
        return dict(props["Definition"])
    text = render(props.get("DefinitionString"), placeholder="TOKEN")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def declared_limits(stack: StackTemplate, logical_id: str) -> Limits:
    declared = stack.resources[logical_id].get("Metadata", {}).get(METADATA_KEY, {})
    return Limits(max_items=declared.get("MaxItems"), max_input_bytes=int(declared.get("MaxInputBytes", PAYLOAD_LIMIT)))


def _state_machine_bounds(context: Context, logical_id: str) -> list[Finding]:
    asl = definition(context.stack, logical_id)
    if asl is None:
        return [Finding("Definition", "its definition cannot be read from the template, so nothing bounds it.")]
    standard = context.stack.props(logical_id).get("StateMachineType", "STANDARD") == "STANDARD"
    findings = []
    for workflow in analyse(asl, declared_limits(context.stack, logical_id), standard=standard):
        where = workflow.path or "the execution"
        if workflow.standard and workflow.events > HISTORY_LIMIT:
            unbounded = workflow.events == float("inf")
            events = "events without bound (declare the items' maximum; or a loop)" if unbounded else ""
            findings.append(
                Finding(
                    f"History{workflow.path}",
                    f"{where} can write {events or f'{workflow.events:,.0f} events'} to its history; a Standard "
                    f"execution holds {HISTORY_LIMIT:,} (use a distributed Map, batches, or fewer retries).",
                )
            )
        for bound in workflow.maps:
            if bound.state_after > PAYLOAD_LIMIT:
                size = "unbounded" if bound.state_after == float("inf") else f"up to {bound.state_after:,.0f} bytes"
                findings.append(
                    Finding(
                        f"Payload{bound.path}",
                        f"Map {bound.path} collects {size} ({bound.iterations:,.0f} iterations of up to "
                        f"{bound.item_output:,.0f} bytes) into one state; a state holds {PAYLOAD_LIMIT:,} "
                        "(trim each iteration's output, discard it, or write it to S3).",
                    )
                )
    return findings


def _vended_log_group(context: Context, logical_id: str) -> list[Finding]:
    destinations = context.stack.props(logical_id).get("LoggingConfiguration", {}).get("Destinations", [])
    findings = []
    for destination in destinations:
        for group in refs(destination.get("CloudWatchLogsLogGroup", {}).get("LogGroupArn")):
            name = render(context.stack.props(group).get("LogGroupName"))
            if not (name or "").startswith(_VENDED):
                findings.append(
                    Finding(
                        group,
                        f"log group {group} is named {name or '(generated)'}; vended-log delivery adds every group "
                        f"outside {_VENDED} to the account's CloudWatch Logs resource policy (5,120 characters).",
                    )
                )
    return findings


def _cache_policy_quota(context: Context, logical_id: str) -> list[Finding]:
    per_account = Counter(
        stack.account for stack in context.stacks for _ in stack.of_type("AWS::CloudFront::CachePolicy")
    )
    count = per_account[context.stack.account]
    if count <= CACHE_POLICIES_PER_ACCOUNT:
        return []
    account = "the deploying account" if context.stack.account.startswith("unknown") else context.stack.account
    return [
        Finding(
            "Quota",
            f"the app creates {count} cache policies in {account} (stages without an account share it); CloudFront "
            f"allows {CACHE_POLICIES_PER_ACCOUNT} per account.",
        )
    ]


CHECKS = [
    Check(
        name="StateMachineWithinLimits",
        info="A state machine can exceed a Step Functions limit for its declared maximum input:",
        explanation=(
            "A state's input or output holds at most 256 KiB (States.DataLimitExceeded) and a Standard execution's "
            "history 25,000 events. Inline Map iterations add their events to the execution and their outputs to "
            "one array; a distributed Map's child executions keep their own histories."
        ),
        resource_types=frozenset({"AWS::StepFunctions::StateMachine"}),
        findings=_state_machine_bounds,
    ),
    Check(
        name="VendedLogGroup",
        info="A state machine logs to a log group outside /aws/vendedlogs/:",
        explanation=(
            "CloudWatch Logs resource policies are limited to 5,120 characters; Step Functions adds each log group "
            "it delivers to unless the group's name starts with /aws/vendedlogs/, so new state machines eventually "
            "fail to enable logging."
        ),
        resource_types=frozenset({"AWS::StepFunctions::StateMachine"}),
        findings=_vended_log_group,
    ),
    Check(
        name="CachePoliciesWithinQuota",
        info="The app creates more CloudFront cache policies than an account allows:",
        explanation="CloudFront allows 20 cache policies per AWS account; creating more fails the deploy.",
        resource_types=frozenset({"AWS::CloudFront::CachePolicy"}),
        findings=_cache_policy_quota,
    ),
]
