"""cdk-nag acknowledgements with a reason that says why, scoped to one construct."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

_VAGUE = ("todo", "fixme", "tbd", "later", "n/a")


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on `scope` and its children.

    Reasons are part of the audit trail, so a vague or short one is refused at synth.
    """
    if len(reason) < 25 or any(word in reason.lower().split() for word in _VAGUE):
        raise ValueError(f"cdk-nag acknowledgement of {rule} needs a specific reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
