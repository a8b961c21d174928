"""The pack itself: it fails `cdk synth`, acknowledgements silence exactly what they name, and every rule is tested."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns

from quality.declare import acknowledge
from quality.gate import unacknowledged_findings
from quality.readiness.pack import PACK_NAME, all_checks
from tests.support.readiness import Findings, findings_fixture, stage_stack
from tests.support.synth import ROOT

GATE_APP = Path(__file__).with_name("gate_app.py")
FINDING = "DeployReadiness-AlarmTopicHasSubscriber[subscription] at gate/Gate/Topic/Resource"


def _cdk_synth(outdir: Path) -> subprocess.CompletedProcess[str]:
    """The README's `cdk synth` (the pinned CLI), on a one-topic app that uses app.py's gate."""
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        # Off: the library's own CloudFormation validation (2-3 s of CPU loading its engine) finds nothing here
        "CDK_VALIDATION": "false",
    }
    command = ["cdk", "synth", "--quiet", "--app", f"{sys.executable} {GATE_APP}", "--output", str(outdir)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.command
@pytest.mark.skipif(
    not (ROOT / "node_modules" / ".bin" / "cdk").exists(), reason="the CDK CLI is installed by make setup"
)
def test_cdk_synth_fails_on_an_unacknowledged_finding_and_names_it(tmp_path: Path) -> None:
    """The CLI itself reports validation only for the stacks it selected (none, for stacks in stages)."""
    result = _cdk_synth(tmp_path / "bad")
    assert result.returncode == 1, result.stderr
    assert "error: 1 unacknowledged cdk-nag finding(s)" in result.stderr
    assert FINDING in result.stderr
    assert "Traceback" not in result.stderr


def _build(app: object) -> None:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "Acks")
    for name in ("Acknowledged", "Unacknowledged"):
        topic = sns.Topic(stack, name)
        alarm = cw.Metric(namespace="Test", metric_name=name, period=Duration.minutes(5)).create_alarm(
            stack, f"{name}Alarm", threshold=1, evaluation_periods=1
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        if name == "Acknowledged":
            acknowledge(
                topic,
                "DeployReadiness-AlarmTopicHasSubscriber[subscription]",
                "Test topic: its alarms are read in the console, nobody is paged.",
            )


findings = findings_fixture(_build)


def test_an_acknowledgement_silences_exactly_the_finding_it_names(findings: Findings) -> None:
    assert findings.rule_of("prod/Acks/Acknowledged", "AlarmTopicHasSubscriber") == set()
    assert findings.rule_of("prod/Acks/Unacknowledged", "AlarmTopicHasSubscriber") == {"subscription"}


def test_acknowledgements_need_a_specific_reason() -> None:
    with pytest.raises(ValueError, match="needs a specific reason"):
        acknowledge(Stack(App(), "S"), "DeployReadiness-VpcApiReachable[logs]", "later")


def test_a_rule_pack_that_crashed_is_a_finding_too(tmp_path: Path) -> None:
    report = {"pluginReports": [{"pluginName": PACK_NAME, "metadata": {"error": "TypeError: x"}, "violations": []}]}
    (tmp_path / "validation-report.json").write_text(json.dumps(report))
    assert unacknowledged_findings(tmp_path) == [f"{PACK_NAME} could not run: TypeError: x"]


def test_every_rule_has_a_test_that_names_it() -> None:
    tests = " ".join(p.read_text() for p in Path(__file__).parent.glob("test_readiness_*.py"))
    names = [check.name for check in all_checks()]
    assert len(names) == len(set(names))
    assert [name for name in names if f'"{name}"' not in tests] == []
