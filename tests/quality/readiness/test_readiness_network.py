"""Reachability rules: each flags a small workload that cannot reach an API it needs, and passes one that can."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager

from tests.support.readiness import REGION, Findings, findings_fixture, stage_stack

STACK = "prod/Net"
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
PRIVATE = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)


def _service(stack: Stack, name: str, cluster: ecs.Cluster, secret: secretsmanager.ISecret) -> ecs.FargateService:
    task = ecs.FargateTaskDefinition(stack, f"{name}Task")
    task.add_container(
        "app",
        image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.13"),
        secrets={"PASSWORD": ecs.Secret.from_secrets_manager(secret, "password")},
    )
    return ecs.FargateService(stack, name, cluster=cluster, task_definition=task, vpc_subnets=PRIVATE)


def _function(
    stack: Stack, name: str, vpc: ec2.Vpc, table: dynamodb.Table, group: ec2.ISecurityGroup | None = None
) -> lambda_.Function:
    function = lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        vpc=vpc,
        vpc_subnets=ISOLATED,
        security_groups=[group] if group else None,
    )
    table.grant_read_data(function)
    return function


def _build(app: object) -> None:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "Net")
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    secret = secretsmanager.Secret(stack, "Secret")
    # Private DNS on: every Secrets Manager call in the VPC goes to the endpoint, NAT or not.
    endpoint = vpc.add_interface_endpoint(
        "SecretsManager", service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open=False
    )
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    _service(stack, "Shut", cluster, secret)
    admitted = _service(stack, "Admitted", cluster, secret)
    endpoint.connections.allow_default_port_from(admitted)

    table = dynamodb.Table(
        stack, "Table", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    _function(stack, "NoRoute", vpc, table)  # isolated subnets, no DynamoDB endpoint
    gateway_vpc = ec2.Vpc(
        stack,
        "GatewayVpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
        gateway_endpoints={"Dynamo": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)},
    )
    _function(stack, "ThroughGateway", gateway_vpc, table)
    _imported(stack, vpc, gateway_vpc, table)

    # Endpoints that admit more than their users.
    gateway_vpc.add_interface_endpoint("OpenToTheVpc", service=ec2.InterfaceVpcEndpointAwsService.SQS)  # open=True
    unrelated = ec2.SecurityGroup(stack, "Unrelated", vpc=vpc)
    ssm = vpc.add_interface_endpoint("Ssm", service=ec2.InterfaceVpcEndpointAwsService.SSM, open=False)
    ssm.connections.allow_default_port_from(unrelated)


def _imported(stack: Stack, vpc: ec2.Vpc, gateway_vpc: ec2.Vpc, table: dynamodb.Table) -> None:
    """Functions of another stack of the stage placed in this stack's subnets and groups (as the edge cache's
    publisher uses the web service's): their network is judged in the stack that owns it."""
    consumers = Stack(stack.node.scope, "Consumers", env=Environment(region=REGION))  # type: ignore[arg-type]
    for name, network in (("ImportedNoRoute", vpc), ("ImportedThroughGateway", gateway_vpc)):
        group = ec2.SecurityGroup(stack, f"{name}Group", vpc=network)
        _function(consumers, name, network, table, group)
    _function(consumers, "SplitAcrossStacks", gateway_vpc, table)  # imported subnets, a group of its own


findings = findings_fixture(_build)


def test_a_task_shut_out_of_a_private_dns_endpoint_cannot_fetch_its_secrets(findings: Findings) -> None:
    """Its subnets have a NAT route, but private DNS sends secretsmanager.<region>.amazonaws.com to the endpoint."""
    assert findings.rule_of(f"{STACK}/Shut", "VpcApiReachable") == {"secretsmanager"}


def test_a_task_the_endpoint_admits_reaches_everything_it_needs(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Admitted", "VpcApiReachable") == set()


def test_a_function_without_route_or_endpoint_cannot_reach_its_table(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/NoRoute", "VpcApiReachable") == {"dynamodb"}


def test_a_gateway_endpoint_on_the_subnets_routes_is_a_path(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/ThroughGateway", "VpcApiReachable") == set()


def test_a_function_in_another_stacks_network_is_judged_there(findings: Findings) -> None:
    assert findings.rule_of("prod/Consumers/ImportedNoRoute", "VpcApiReachable") == {"dynamodb"}
    assert findings.rule_of("prod/Consumers/ImportedThroughGateway", "VpcApiReachable") == set()
    assert findings.rule_of("prod/Consumers/SplitAcrossStacks", "VpcApiReachable") == {"groups"}


def test_endpoints_open_to_ranges_or_unrelated_groups_are_flagged(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/GatewayVpc/OpenToTheVpc", "EndpointAdmitsOnlyItsUsers") == {"range"}
    (unrelated,) = findings.rule_of(f"{STACK}/Vpc/Ssm", "EndpointAdmitsOnlyItsUsers")
    assert unrelated.startswith("Unrelated")


def test_an_endpoint_open_to_its_users_only_passes(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Vpc/SecretsManager", "EndpointAdmitsOnlyItsUsers") == set()
