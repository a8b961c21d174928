"""What the README tells a user to run matches the code it is about."""

from __future__ import annotations

import re

from stacks.config import load_stage
from tests.support.synth import ROOT


def test_the_alarm_email_parameter_is_created_where_prod_reads_it() -> None:
    """CloudFormation resolves an SSM parameter type in the stack's own region: the README's put-parameter must
    name prod's region and the parameter prod reads."""
    text = " ".join((ROOT / "README.md").read_text().split())
    (command,) = re.findall(r"`(aws ssm put-parameter [^`]+)`", text)
    prod = load_stage("prod")
    assert f"--region {prod.region} " in command
    assert f"--name {prod.alarm_email_parameter} " in command
