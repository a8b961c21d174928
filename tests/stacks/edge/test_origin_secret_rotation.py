"""The origin-secret rotation can do what its UpdateDistribution asks, says when it fails, and the web ACL's ARN
is read again when the ACL is replaced."""

from __future__ import annotations

from typing import Any

from tests.support.iam import role_of_function, statements_of_role
from tests.support.synth import Synthesized, resources_of_type

ROTATION_HANDLER = "origin_secret.handler.handler"


def _rotation_function(edge: dict[str, Any]) -> str:
    (function_id,) = [
        k
        for k, f in resources_of_type(edge, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == ROTATION_HANDLER
    ]
    return function_id


def _config(edge: dict[str, Any]) -> dict[str, Any]:
    ((_, distribution),) = resources_of_type(edge, "AWS::CloudFront::Distribution").items()
    return distribution["Properties"]["DistributionConfig"]  # type: ignore[no-any-return]


def test_the_rotation_may_read_exactly_what_the_distribution_associates(synth: Synthesized) -> None:
    """UpdateDistribution resends the Lambda@Edge associations and the web ACL (the readiness pack's
    DistributionUpdaterCanAssociate rule holds this for every role); here: on those resources only."""
    edge = synth.templates["prod/Edge"]
    config = _config(edge)
    behaviors = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    versions = {str(a["LambdaFunctionARN"]) for b in behaviors for a in b.get("LambdaFunctionAssociations", [])}
    assert versions, "prod's distribution runs its origin-request function"
    statements = statements_of_role(edge, role_of_function(edge, _rotation_function(edge)))
    (lambda_read,) = [s for s in statements if "lambda:GetFunction" in s["Action"]]
    assert sorted(lambda_read["Action"]) == ["lambda:EnableReplication*", "lambda:GetFunction"]
    resources = lambda_read["Resource"] if isinstance(lambda_read["Resource"], list) else [lambda_read["Resource"]]
    assert {str(r) for r in resources} == versions
    (acl_read,) = [s for s in statements if s["Action"] == "wafv2:GetWebACL"]
    assert acl_read["Resource"] == config["WebACLId"]


def test_a_failed_rotation_notifies_the_alarm_topic(synth: Synthesized) -> None:
    edge = synth.templates["prod/Edge"]
    function_id = _rotation_function(edge)
    alarms = [
        a["Properties"]
        for a in resources_of_type(edge, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    ]
    (alarm,) = alarms
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == ("Errors", "Sum", 1)
    (topic_id,) = resources_of_type(edge, "AWS::SNS::Topic")
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]


def test_the_web_acl_arn_is_read_again_when_the_acl_is_replaced(synth: Synthesized) -> None:
    """Constant properties would keep a replaced ACL's old ARN; the ACL's logical id is the refresh token."""
    (acl_id,) = resources_of_type(synth.templates["prod/EdgeFunctions"], "AWS::WAFv2::WebACL")
    readers = [
        r["Properties"]
        for r in resources_of_type(synth.templates["prod/Edge"], "Custom::AWS").values()
        if "web-acl-arn" in r["Properties"]["Create"]
    ]
    (reader,) = readers
    assert reader["RefreshToken"] == acl_id
