"""A one-topic CDK app with our rule pack and app.py's gate; its alarm topic has no subscriber (a finding)."""

from __future__ import annotations

from aws_cdk import App, Duration, Stack, Stage, Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns

from quality.gate import exit_on_findings
from quality.readiness.pack import DeployReadinessChecks

app = App()
stack = Stack(Stage(app, "gate"), "Gate")
topic = sns.Topic(stack, "Topic")
alarm = cw.Metric(namespace="Gate", metric_name="Errors", period=Duration.minutes(5)).create_alarm(
    stack, "Alarm", threshold=1, evaluation_periods=1
)
alarm.add_alarm_action(actions.SnsAction(topic))
Validations.of(app).add_plugins(DeployReadinessChecks(app))
app.synth()
exit_on_findings(app.outdir)
