"""Lifecycle rules: each flags a construct that would fail or linger at delete time, and passes one that would not."""

from __future__ import annotations

import re

from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3

from tests.support.readiness import Findings, findings_fixture, stage_stack

PROD, SANDBOX = "prod/Life", "sandbox/Life"
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
_KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)


def _protected(stack: Stack, vpc: ec2.Vpc) -> None:
    elbv2.ApplicationLoadBalancer(stack, "ProtectedAlb", vpc=vpc, internet_facing=True, deletion_protection=True)
    kept = elbv2.ApplicationLoadBalancer(
        stack, "ProtectedKeptAlb", vpc=vpc, internet_facing=True, deletion_protection=True
    )
    kept.apply_removal_policy(RemovalPolicy.RETAIN)
    dynamodb.Table(
        stack, "ProtectedTable", partition_key=_KEY, deletion_protection=True, removal_policy=RemovalPolicy.DESTROY
    )
    dynamodb.Table(stack, "KeptTable", partition_key=_KEY, deletion_protection=True)  # RETAIN by default


def _log_buckets(stack: Stack) -> None:
    emptied = s3.Bucket(stack, "EmptiedLogs", removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True)
    s3.Bucket(stack, "Site", server_access_logs_bucket=emptied, removal_policy=RemovalPolicy.DESTROY)
    kept = s3.Bucket(stack, "KeptLogs", removal_policy=RemovalPolicy.RETAIN)
    s3.Bucket(stack, "OtherSite", server_access_logs_bucket=kept, removal_policy=RemovalPolicy.DESTROY)


def _databases(stack: Stack, vpc: ec2.Vpc) -> None:
    for name, wait in (("Hasty", False), ("Patient", True)):
        cluster = rds.DatabaseCluster(
            stack,
            name,
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_9),
            writer=rds.ClusterInstance.serverless_v2("Writer"),
            vpc=vpc,
            vpc_subnets=ISOLATED,
            removal_policy=RemovalPolicy.DESTROY,
        )
        cluster.add_rotation_single_user(vpc_subnets=ISOLATED)
        if wait:
            schedule = cluster.secret.node.find_child("RotationSchedule")  # type: ignore[union-attr]
            schedule.node.add_dependency(cluster.node.find_child("Writer"))


def _leftovers(stack: Stack) -> None:
    """The same constructs go in a disposable and a protected stage."""
    s3.Bucket(stack, "RetainedBucket", removal_policy=RemovalPolicy.RETAIN)
    s3.Bucket(stack, "DisposableBucket", removal_policy=RemovalPolicy.DESTROY)
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    edge_role = iam.Role(
        stack,
        "EdgeRole",
        assumed_by=iam.CompositePrincipal(
            iam.ServicePrincipal("lambda.amazonaws.com"), iam.ServicePrincipal("edgelambda.amazonaws.com")
        ),
    )
    code = lambda_.CfnFunction.CodeProperty(zip_file="def handler(event, context):\n    return None\n")
    for name, used_role in (("Unlogged", role), ("Edge", edge_role), ("KeptEdge", edge_role)):
        lambda_.CfnFunction(
            stack, name, role=used_role.role_arn, code=code, runtime="python3.13", handler="index.handler"
        )
    # Retained as `make destroy` expects (it deletes them once CloudFront lets go): still one leftover kind.
    kept_edge = stack.node.find_child("KeptEdge")
    version = lambda_.CfnVersion(stack, "KeptEdgeVersion", function_name=kept_edge.ref)  # type: ignore[attr-defined]
    for kept in (kept_edge, version):
        kept.apply_removal_policy(RemovalPolicy.RETAIN)  # type: ignore[attr-defined]
    own = logs.LogGroup(stack, "OwnLogs", removal_policy=RemovalPolicy.DESTROY)
    lambda_.CfnFunction(
        stack,
        "Logged",
        role=role.role_arn,
        code=code,
        runtime="python3.13",
        handler="index.handler",
        logging_config=lambda_.CfnFunction.LoggingConfigProperty(log_group=own.log_group_name),
    )
    for name, owned in (("UnownedExecutionLogs", False), ("OwnedExecutionLogs", True)):
        api = apigw.RestApi(
            stack,
            name,
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(logging_level=apigw.MethodLoggingLevel.ERROR),
        )
        api.root.add_method("GET", apigw.MockIntegration())
        if owned:
            group = logs.LogGroup(
                stack,
                f"{name}Group",
                log_group_name=f"API-Gateway-Execution-Logs_{api.rest_api_id}/prod",
                removal_policy=RemovalPolicy.DESTROY,
            )
            api.deployment_stage.node.add_dependency(group)
    logs.LogRetention(stack, "KeptRetention", log_group_name="/aws/rds/x", retention=logs.RetentionDays.ONE_WEEK)
    logs.LogRetention(
        stack,
        "DeletedRetention",
        log_group_name="/aws/rds/y",
        retention=logs.RetentionDays.ONE_WEEK,
        removal_policy=RemovalPolicy.DESTROY,
    )


def _build(app: object) -> None:
    assert isinstance(app, App)
    prod = stage_stack(app, "prod", "Life")
    vpc = ec2.Vpc(prod, "Vpc", max_azs=2, nat_gateways=0)
    _protected(prod, vpc)
    _log_buckets(prod)
    _databases(prod, vpc)
    _leftovers(prod)
    _leftovers(stage_stack(app, "sandbox", "Life"))


findings = findings_fixture(_build, disposable_stages=("sandbox",))


def test_deletion_protection_without_retain_is_flagged(findings: Findings) -> None:
    for construct in ("ProtectedAlb", "ProtectedTable"):
        assert findings.rule_of(f"{PROD}/{construct}", "DeletionProtectedIsRetained") == {"DeletionPolicy"}
    for construct in ("ProtectedKeptAlb", "KeptTable"):
        assert findings.rule_of(f"{PROD}/{construct}", "DeletionProtectedIsRetained") == set()


def test_a_retained_load_balancer_needs_its_network_retained_too(findings: Findings) -> None:
    used = findings.rule_of(f"{PROD}/ProtectedKeptAlb", "RetainedKeepsWhatItUses")
    for pattern in (
        r"ProtectedKeptAlbSecurityGroup\w+",
        r"VpcPublicSubnet1Subnet\w+",
        r"Vpc[0-9A-F]{8}",
        r"VpcVPCGW\w+",
    ):
        assert any(re.fullmatch(pattern, token) for token in used), (pattern, used)
    assert not any(token.startswith("VpcPrivate") for token in used)  # the load balancer is not in them
    assert findings.rule_of(f"{PROD}/KeptTable", "RetainedKeepsWhatItUses") == set()  # uses nothing of the kind


def test_a_log_bucket_that_is_emptied_or_deleted_is_flagged(findings: Findings) -> None:
    assert findings.rule_of(f"{PROD}/EmptiedLogs", "DeliveredLogsBucketKept") == {"AutoDelete", "DeletionPolicy"}
    assert findings.rule_of(f"{PROD}/KeptLogs", "DeliveredLogsBucketKept") == set()
    assert findings.rule_of(f"{PROD}/Site", "DeliveredLogsBucketKept") == set()  # sends logs, receives none


def test_disposable_stages_flag_what_destroying_them_leaves_behind(findings: Findings) -> None:
    def leftover(construct: str) -> set[str]:
        return findings.rule_of(f"{SANDBOX}/{construct}", "DisposableStageLeftover")

    assert leftover("RetainedBucket") == {"Retained"}
    assert leftover("Unlogged") == {"LambdaLogGroup"}
    for edge in ("Edge", "KeptEdge", "KeptEdgeVersion"):
        assert leftover(edge) == {"EdgeReplicas"}, edge
    assert leftover("UnownedExecutionLogs") == {"ExecutionLogGroup"}
    assert leftover("KeptRetention") == {"ExportedLogGroup"}
    for clean in ("DisposableBucket", "Logged", "OwnedExecutionLogs", "DeletedRetention"):
        assert leftover(clean) == set(), clean


def test_stages_that_keep_their_data_may_leave_things_behind(findings: Findings) -> None:
    assert findings.rule_of(PROD, "DisposableStageLeftover") == set()


def test_a_first_rotation_that_can_run_before_the_instances_exist_is_flagged(findings: Findings) -> None:
    (writer,) = findings.rule_of(f"{PROD}/Hasty", "RotationAfterDatabase")
    assert writer.startswith("HastyWriter")
    assert findings.rule_of(f"{PROD}/Patient", "RotationAfterDatabase") == set()
