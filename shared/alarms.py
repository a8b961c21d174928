"""An encrypted SNS topic for alarms, and a helper that wires an alarm to it."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from quality.declare import acknowledge

# The actions a topic policy may name (SNS Developer Guide, Amazon SNS API permissions: Actions and resources
# reference, "Valid Amazon SNS policy actions").
TOPIC_ACTIONS = (
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetDataProtectionPolicy",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "sns:Publish",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)


class AlarmTopic(Construct):
    """Where every alarm of a stack notifies.

    The topic is encrypted with a customer managed key because CloudWatch cannot publish to a topic
    encrypted with the AWS managed SNS key (its key policy cannot grant cloudwatch.amazonaws.com). Its
    policy (which replaces SNS's default one) lets CloudWatch alarms of this account publish. Alarms reach
    `email`, or the address held by the SSM parameter `email_parameter` (read at deploy time, so no
    address lives in the code and a deploy without it fails).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, email: str | None, email_parameter: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,  # holds no data at rest beyond in-flight notifications
            pending_window=Duration.days(7),
        )
        self.key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        # enforce_ssl denies Publish without TLS (SNS's documented example); the rest of the topic's API too.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyEveryActionWithoutTls",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(TOPIC_ACTIONS),
                resources=[self.topic.topic_arn],
                conditions={"Bool": {"aws:SecureTransport": "false"}},
            )
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
                    },
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        for address in (
            email,
            email_parameter and ssm.StringParameter.value_for_string_parameter(self, email_parameter),
        ):
            if address:
                self.topic.add_subscription(subs.EmailSubscription(address))
        if not (email or email_parameter):
            acknowledge(
                self.topic,
                "DeployReadiness-AlarmTopicHasSubscriber[subscription]",
                "No alarm_email configured for this stage: its alarms show in the CloudWatch console only.",
            )
        self._action = cw_actions.SnsAction(self.topic)

    def alarm(
        self,
        scope: Construct,
        construct_id: str,
        *,
        metric: cw.IMetric,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
        comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    ) -> cw.Alarm:
        """An alarm on `metric` that notifies this topic on ALARM and OK; missing data is not breaching."""
        alarm = cw.Alarm(
            scope,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm
