"""The four Secrets Manager rotation steps for the origin header, without a moment in which CloudFront's
requests are refused.

setSecret first makes the listener rule accept both the current and the new value, then points the
distribution's origin header at the new value; CloudFront takes minutes to deploy that everywhere, so the rule
keeps accepting the old value (now the previous one) until the next rotation replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SECRET_LENGTH = 48  # letters and digits: ALB header conditions treat * and ? as wildcards
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


class RotationError(Exception):
    """A step found the secret, the rule or the distribution in a state it cannot continue from."""


@dataclass(frozen=True)
class Targets:
    """Where the header value lives besides the secret."""

    header: str
    distribution_id: str
    listener_rule_arn: str


@dataclass(frozen=True)
class Clients:
    secrets: Any
    elbv2: Any
    cloudfront: Any


def _pending_exists(secrets: Any, secret_id: str, token: str) -> bool:
    try:
        secrets.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except secrets.exceptions.ResourceNotFoundException:
        return False
    return True


def _value(secrets: Any, secret_id: str, **version: str) -> str:
    return str(secrets.get_secret_value(SecretId=secret_id, **version)["SecretString"])


def create_secret(secrets: Any, secret_id: str, token: str) -> None:
    if _pending_exists(secrets, secret_id, token):
        return
    value = secrets.get_random_password(PasswordLength=SECRET_LENGTH, ExcludePunctuation=True)["RandomPassword"]
    secrets.put_secret_value(SecretId=secret_id, ClientRequestToken=token, SecretString=value, VersionStages=[PENDING])


def _is_header(condition: dict[str, Any], header: str) -> bool:
    return condition.get("Field") == "http-header" and condition["HttpHeaderConfig"]["HttpHeaderName"] == header


def _with_header_values(conditions: list[dict[str, Any]], header: str, values: list[str]) -> list[dict[str, Any]]:
    result = []
    for condition in conditions:
        if _is_header(condition, header):
            result.append({"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": header, "Values": values}})
        else:
            result.append({k: v for k, v in condition.items() if k != "Values"})  # legacy duplicate of *Config
    if not any(_is_header(condition, header) for condition in conditions):
        raise RotationError(f"the listener rule has no {header!r} header condition")
    return result


def _origins_with_header(config: dict[str, Any], header: str) -> list[dict[str, Any]]:
    found = []
    for origin in config["Origins"]["Items"]:
        for item in origin.get("CustomHeaders", {}).get("Items", []):
            if item["HeaderName"].lower() == header:
                found.append(item)
    if not found:
        raise RotationError(f"no origin of the distribution sends {header!r}")
    return found


def set_secret(clients: Clients, targets: Targets, secret_id: str, token: str) -> None:
    current = _value(clients.secrets, secret_id, VersionStage=CURRENT)
    pending = _value(clients.secrets, secret_id, VersionId=token, VersionStage=PENDING)
    elbv2, cloudfront = clients.elbv2, clients.cloudfront
    (rule,) = elbv2.describe_rules(RuleArns=[targets.listener_rule_arn])["Rules"]
    accepted = list(dict.fromkeys([current, pending]))  # the values in flight at CloudFront's edges
    elbv2.modify_rule(
        RuleArn=targets.listener_rule_arn,
        Conditions=_with_header_values(rule["Conditions"], targets.header, accepted),
    )
    answer = cloudfront.get_distribution_config(Id=targets.distribution_id)
    config = answer["DistributionConfig"]
    headers = _origins_with_header(config, targets.header)
    if all(item["HeaderValue"] == pending for item in headers):
        return
    for item in headers:
        item["HeaderValue"] = pending
    cloudfront.update_distribution(Id=targets.distribution_id, IfMatch=answer["ETag"], DistributionConfig=config)


def test_secret(clients: Clients, targets: Targets, secret_id: str, token: str) -> None:
    pending = _value(clients.secrets, secret_id, VersionId=token, VersionStage=PENDING)
    (rule,) = clients.elbv2.describe_rules(RuleArns=[targets.listener_rule_arn])["Rules"]
    accepted = [
        value
        for condition in rule["Conditions"]
        if _is_header(condition, targets.header)
        for value in condition["HttpHeaderConfig"]["Values"]
    ]
    if pending not in accepted:
        raise RotationError("the listener rule does not accept the new value")
    config = clients.cloudfront.get_distribution_config(Id=targets.distribution_id)["DistributionConfig"]
    if any(item["HeaderValue"] != pending for item in _origins_with_header(config, targets.header)):
        raise RotationError("the distribution does not send the new value")


def finish_secret(secrets: Any, secret_id: str, token: str) -> None:
    versions = secrets.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    current = next((v for v, stages in versions.items() if CURRENT in stages), None)
    if current == token:
        return
    secrets.update_secret_version_stage(
        SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
    )


def check_rotatable(secrets: Any, secret_id: str, token: str) -> None:
    """Secrets Manager's own preconditions: rotation on, and `token` a version staged for this rotation."""
    description = secrets.describe_secret(SecretId=secret_id)
    if not description.get("RotationEnabled"):
        raise RotationError(f"rotation is not enabled for {secret_id}")
    stages = description["VersionIdsToStages"].get(token)
    if stages is None:
        raise RotationError(f"version {token} is not a version of {secret_id}")
    if CURRENT not in stages and PENDING not in stages:
        raise RotationError(f"version {token} is neither current nor pending")
