"""What an architecture tells the tooling, and the one thing of quality/ it imports.

- cdk-nag acknowledgements with a reason that says why, scoped to one construct (`acknowledge`), and checkov
  skips likewise (`skip_check`: checkov reads them from the resource's `Metadata.checkov.skip` in the
  synthesized template; checks skipped for the whole app are listed, each with its reason, in `.checkov.yaml`).
- What a deploy-readiness rule cannot read from a template: the most items a state machine's Map gets
  (`declare_bounds`), the DynamoDB calls a role's code makes (`declare_table_access`).
- Facts of AWS a stage's config is validated against (CloudFront's cache policies per account, the Regions
  without Lambda SnapStart), shared with the rules that check the templates.

It loads no CDK module until a construct calls it: the stage config imports its facts, and the AWS targets
read the config without loading the CDK.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_cdk import CfnResource
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_stepfunctions as sfn
    from constructs import IConstruct

# Where declarations are kept on a resource (its CloudFormation Metadata), for the rules to read.
METADATA_KEY = "DeployReadiness"
TABLE_ACCESS_KEY = "DynamoDbAccess"

CACHE_POLICIES_PER_ACCOUNT = 20

SNAPSTART_DOCS = "https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html"

# Asia Pacific (New Zealand) and Asia Pacific (Taipei).
UNAVAILABLE_REGIONS = frozenset({"ap-southeast-6", "ap-east-2"})

_VAGUE = ("todo", "fixme", "tbd", "later", "n/a")

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on `scope` and its children.

    Reasons are part of the audit trail, so a vague or short one is refused at synth.
    """
    from aws_cdk import Acknowledgment, Validations

    if len(reason) < 25 or any(word in reason.lower().split() for word in _VAGUE):
        raise ValueError(f"cdk-nag acknowledgement of {rule} needs a specific reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def printed_account(scope: IConstruct) -> str:
    """The account as cdk-nag prints it in a finding's resource: literally when the stack names one (a stage
    deployed with -c account=...), else `<AWS::AccountId>`. Acknowledgements of such findings must use it."""
    from aws_cdk import Stack, Token

    account = Stack.of(scope).account
    return "<AWS::AccountId>" if Token.is_unresolved(account) else account


def _resource(scope: IConstruct) -> CfnResource:
    from aws_cdk import CfnResource

    if isinstance(scope, CfnResource):
        return scope
    child = scope.node.default_child
    if isinstance(child, CfnResource):
        return child
    raise ValueError(f"{scope.node.path} has no CloudFormation resource to attach a checkov skip to")


def skip_check(scope: IConstruct, check: str, reason: str) -> None:
    """Skip checkov check `check` (e.g. ``CKV_AWS_18``) on the resource of `scope` only, saying why."""
    if not _CHECK_ID.match(check):
        raise ValueError(f"not a checkov AWS check id: {check!r}")
    if len(reason) < 25:
        raise ValueError(f"checkov skip of {check} needs a specific reason, got {reason!r}")
    resource = _resource(scope)
    existing = resource.get_metadata("checkov") or {}
    skips = [s for s in existing.get("skip", []) if s["id"] != check]
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check, "comment": reason}]})


def declare_bounds(state_machine: sfn.StateMachine, *, max_items: int, max_input_bytes: int | None = None) -> None:
    """Tell the limits rule the most items a Map of this state machine gets per execution (its input's maximum)."""
    from aws_cdk import aws_stepfunctions as sfn

    bounds: dict[str, int] = {"MaxItems": max_items}
    if max_input_bytes is not None:
        bounds["MaxInputBytes"] = max_input_bytes
    cfn = state_machine.node.default_child
    assert isinstance(cfn, sfn.CfnStateMachine)
    cfn.add_metadata(METADATA_KEY, bounds)


def declare_table_access(
    grantee: iam.IGrantable, table: dynamodb.ITable, actions: Sequence[str], *, index: str | None = None
) -> None:
    """Record on the grantee's role that it may call `actions` on `table` (or on its index `index`).

    The TableAccessDeclared rule flags any DynamoDB grant of the role beyond what is declared.
    """
    from aws_cdk import Stack
    from aws_cdk import aws_dynamodb as dynamodb
    from aws_cdk import aws_iam as iam
    from constructs import Construct

    role = grantee.grant_principal
    cfn_role = role.node.default_child if isinstance(role, Construct) else None
    cfn_table = table.node.default_child
    if not isinstance(cfn_role, iam.CfnRole) or not isinstance(cfn_table, dynamodb.CfnTable):
        raise TypeError("declare_table_access takes a grantee with a role of this app and a table of this app")
    if Stack.of(cfn_role) is not Stack.of(cfn_table):
        raise ValueError("declare_table_access: the role and the table must be in one stack")
    declared = dict(cfn_role.get_metadata(METADATA_KEY) or {})
    entries = list(declared.get(TABLE_ACCESS_KEY, []))
    entry: dict[str, Any] = {"Table": Stack.of(cfn_table).get_logical_id(cfn_table), "Actions": sorted(actions)}
    if index is not None:
        entry["Index"] = index
    entries.append(entry)
    cfn_role.add_metadata(METADATA_KEY, {**declared, TABLE_ACCESS_KEY: entries})


def snap_start_region_problem(region: str) -> str | None:
    """Why SnapStart cannot be turned on in `region`, or None."""
    if region in UNAVAILABLE_REGIONS or "-gov-" in region:
        return (
            f"Lambda SnapStart is not available in {region} (all commercial Regions except Asia Pacific "
            f"(New Zealand) and Asia Pacific (Taipei): {SNAPSTART_DOCS}#snapstart-supported-regions)"
        )
    return None
