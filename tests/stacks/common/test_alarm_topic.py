"""The alarm topic of every stack: CloudWatch may publish to it, and prod's alarms reach someone."""

from __future__ import annotations

import pytest

from stacks.config import load_stage
from tests.support.synth import Synthesized, resources_of_type

# Every stack that has alarms, by "stage/Stack".
WITH_ALARMS = [f"{stage}/{stack}" for stage in ("sandbox", "prod") for stack in ("Chat", "Web", "Edge")]


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
