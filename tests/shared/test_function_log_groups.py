"""Every function of every stack writes to a log group its stack owns: with a retention, deleted with it.

Left alone, Lambda creates /aws/lambda/<function> at the first run, keeps it forever and nothing deletes it
(aws-cdk-lib's custom-resource provider functions do exactly that): shared/policies.own_function_log_groups.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.synth import Synthesized, resources_of_type, stack_keys


def _owned_group(template: dict[str, Any], function_id: str) -> dict[str, Any] | None:
    logging = template["Resources"][function_id]["Properties"].get("LoggingConfig", {}).get("LogGroup")
    for group_id, group in resources_of_type(template, "AWS::Logs::LogGroup").items():
        name = group["Properties"].get("LogGroupName")
        if logging == {"Ref": group_id} or name == {"Fn::Join": ["", ["/aws/lambda/", {"Ref": function_id}]]}:
            return group
    return None


# Prod's us-east-1 stack holds the web ACL and its ARN's parameter, nothing that runs.
WITHOUT_FUNCTIONS = {"prod/EdgeFunctions"}


@pytest.mark.parametrize("key", stack_keys())
def test_every_function_has_a_log_group_of_its_own(synth: Synthesized, key: str) -> None:
    template = synth.templates[key]
    functions = resources_of_type(template, "AWS::Lambda::Function")
    assert bool(functions) == (key not in WITHOUT_FUNCTIONS), key
    for function_id in functions:
        group = _owned_group(template, function_id)
        assert group is not None, f"{key}: {function_id} has no log group of its own"
        assert group["Properties"].get("RetentionInDays"), function_id
        assert group.get("DeletionPolicy") == "Delete", function_id
