"""checkov skips for one resource, with a reason, next to the construct (as cdk-nag acknowledgements are).

checkov reads them from the resource's `Metadata.checkov.skip` in the synthesized template; checks skipped
for the whole app instead are listed, each with its reason, in `.checkov.yaml`.
"""

from __future__ import annotations

import re

from aws_cdk import CfnResource
from constructs import IConstruct

_CHECK_ID = re.compile(r"^CKV2?_AWS_\d+$")


def _resource(scope: IConstruct) -> CfnResource:
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
