"""The alarm topic of every stack: CloudWatch may publish to it, only over TLS, and prod's alarms reach someone."""

from __future__ import annotations

from typing import Any

import pytest

from stage.config import load_stage
from tests.support.synth import Synthesized, resources_of_type

# Every stack that has alarms, by "stage/Stack".
WITH_ALARMS = [f"{stage}/{stack}" for stage in ("sandbox", "prod") for stack in ("Chat", "Web", "Edge")]
# A policy statement's principal that names everyone.
ANYONE = ("*", {"AWS": "*"})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _denies_publish_without_tls(statement: dict[str, Any], topic_id: str) -> bool:
    """A Deny of sns:Publish on the topic to anyone whose request did not come over TLS, and nothing narrower:
    a further condition (or a Not* element) would let some plain-text publish through."""
    return (
        statement.get("Effect") == "Deny"
        and statement.get("Principal") in ANYONE
        and not {"NotPrincipal", "NotAction", "NotResource"} & statement.keys()
        and bool({"sns:Publish", "sns:*", "*"} & set(_as_list(statement.get("Action"))))
        and bool([r for r in _as_list(statement.get("Resource")) if r in ({"Ref": topic_id}, "*")])
        and statement.get("Condition")
        in ({"Bool": {"aws:SecureTransport": "false"}}, {"Bool": {"aws:SecureTransport": False}})
    )


@pytest.mark.parametrize("key", WITH_ALARMS)
def test_the_topic_policy_lets_this_accounts_alarms_publish(synth: Synthesized, key: str) -> None:
    """A topic policy replaces SNS's default one; without this statement every notification is refused."""
    template = synth.templates[key]
    (topic_id,) = resources_of_type(template, "AWS::SNS::Topic")
    (policy,) = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    (allow,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (allow["Action"], allow["Resource"]) == ("sns:Publish", {"Ref": topic_id})
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert source[-1] == ":alarm:*" and {"Ref": "AWS::AccountId"} in source
    # Every alarm of the stack notifies this topic.
    for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


@pytest.mark.parametrize("assembly", ["synth", "variants"])
def test_every_topic_denies_publishing_without_tls(request: pytest.FixtureRequest, assembly: str) -> None:
    """Every SNS topic of every stack of every stage (a topic added later is covered without a new test) has
    exactly one topic policy (a topic holds one Policy attribute, which each policy resource sets whole), and
    it denies sns:Publish without TLS to anyone, as SNS's security best practices give it
    (https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html#enforce-encryption-data-in-transit).
    The Allow for CloudWatch does not say this: without the Deny, whoever the Allow admits may publish over
    plain HTTP."""
    synthesized: Synthesized = request.getfixturevalue(assembly)
    checked: list[str] = []
    for key, template in synthesized.templates.items():
        policies = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
        for topic_id in resources_of_type(template, "AWS::SNS::Topic"):
            covering = [p for p in policies if {"Ref": topic_id} in p["Properties"]["Topics"]]
            assert len(covering) == 1, f"{key}: topic {topic_id} has {len(covering)} topic policies, not 1"
            statements = _as_list(covering[0]["Properties"]["PolicyDocument"]["Statement"])
            assert any(_denies_publish_without_tls(s, topic_id) for s in statements), (
                f"{key}: the policy of topic {topic_id} does not deny sns:Publish without TLS: {statements}"
            )
            checked.append(key)
    # Not vacuous: every stack with alarms has its topic among those checked.
    with_alarms = {k for k, t in synthesized.templates.items() if resources_of_type(t, "AWS::CloudWatch::Alarm")}
    assert with_alarms and with_alarms <= set(checked)


@pytest.mark.parametrize("key", WITH_ALARMS)
def test_prod_mails_the_address_in_its_parameter_and_sandbox_mails_nobody(synth: Synthesized, key: str) -> None:
    stage = key.split("/", maxsplit=1)[0]
    template = synth.templates[key]
    subscriptions = list(resources_of_type(template, "AWS::SNS::Subscription").values())
    parameter = load_stage(stage).alarm_email_parameter
    if parameter is None:
        assert subscriptions == []
        return
    (subscription,) = subscriptions
    assert subscription["Properties"]["Protocol"] == "email"
    (parameter_id,) = [k for k, v in template["Parameters"].items() if v.get("Default") == parameter]
    assert template["Parameters"][parameter_id]["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert subscription["Properties"]["Endpoint"] == {"Ref": parameter_id}  # read at deploy time; must exist
