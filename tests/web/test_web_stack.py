"""Fine-grained assertions on the web stack: placement, encryption, the security-group chain, deployments."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from quality.readiness.template import StackTemplate
from stage.config import load_stage
from tests.support.iam import statements_of_role, tls_only_policy
from tests.support.locks import locked
from tests.support.synth import ROOT, Synthesized, resources_of_type
from tests.web.web_template import egress_rules, ingress_rules, one, refs, subnets
from web.app_role import ROLES_MODULE
from web.cloudfront_access import PREFIX_LIST_WEIGHT, SECURITY_GROUP_RULE_QUOTA
from web.image import CONTAINER_ROOT
from web.service import SECRET_FIELDS

STAGES = ("sandbox", "prod")
ALB_SG, APP_SG, DB_SG = "LoadBalancerSecurityGroupA28D6DD7", "AppSecurityGroupC292657D", "DatabaseSecurityGroup5C91FDCB"
ROTATION_SG, ENDPOINT_SG = "DatabaseRotationSecurityGroup8E1B7C66", "DatabaseEndpointSecurityGroupE0019802"
CLUSTER, SECRET, BUCKET = "DatabaseCluster5B53A178", "DatabaseSecret3B817195", "LoadBalancerAccessLogsBucket38E275E7"
SERVICE_TG = "LoadBalancerServiceE653FB98"
NAT_SG = "NetworkVpcNatSecurityGroup559BBD24"
APP_SECRET = "DatabaseAppRoleSecret4972C4D8"
FETCHERS_SG = "LoadBalancerFetchers8697F7C5"  # the page fetchers (the edge cache's publisher) the ALB admits
PREFIX_LIST_LOOKUP = "OriginAccessPrefixListA3A46D5E"


def _template(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/Web"]


def json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# --- network -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_vpc_spans_the_stage_zones_with_three_tiers(synth: Synthesized, stage: str) -> None:
    template, zones = _template(synth, stage), load_stage(stage).availability_zones
    all_subnets = resources_of_type(template, "AWS::EC2::Subnet")
    for tier in ("Public", "App", "Data"):
        tier_zones = sorted(all_subnets[s]["Properties"]["AvailabilityZone"] for s in subnets(template, tier))
        assert tier_zones == sorted(zones)
    assert len(all_subnets) == 3 * len(zones)
    for subnet_id in subnets(template, "App") | subnets(template, "Data"):
        assert all_subnets[subnet_id]["Properties"]["MapPublicIpOnLaunch"] is False


def test_isolated_subnets_have_no_route_out(synth: Synthesized) -> None:
    template = _template(synth, "prod")
    data = subnets(template, "Data")
    tables = {
        a["Properties"]["RouteTableId"]["Ref"]
        for a in resources_of_type(template, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"]["Ref"] in data
    }
    routes = [
        r
        for r in resources_of_type(template, "AWS::EC2::Route").values()
        if r["Properties"]["RouteTableId"]["Ref"] in tables
    ]
    assert routes == []


@pytest.mark.parametrize(("stage", "gateways", "instances"), [("sandbox", 0, 1), ("prod", 3, 0)])
def test_nat_per_stage_sits_in_public_subnets_and_routes_the_app_tier(
    synth: Synthesized, stage: str, gateways: int, instances: int
) -> None:
    template = _template(synth, stage)
    nat = {**resources_of_type(template, "AWS::EC2::NatGateway"), **resources_of_type(template, "AWS::EC2::Instance")}
    assert len(resources_of_type(template, "AWS::EC2::NatGateway")) == gateways
    assert len(resources_of_type(template, "AWS::EC2::Instance")) == instances
    public = subnets(template, "Public")
    assert all(n["Properties"]["SubnetId"]["Ref"] in public for n in nat.values())
    # Every app subnet's default route leads to one of them.
    app_tables = {
        a["Properties"]["RouteTableId"]["Ref"]
        for a in resources_of_type(template, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"]["Ref"] in subnets(template, "App")
    }
    targets = {
        r["Properties"]["RouteTableId"]["Ref"]: r["Properties"].get("NatGatewayId") or r["Properties"].get("InstanceId")
        for r in resources_of_type(template, "AWS::EC2::Route").values()
        if r["Properties"]["DestinationCidrBlock"] == "0.0.0.0/0"
    }
    assert {targets[t]["Ref"] for t in app_tables} == set(nat)


def test_sandbox_nat_instance_is_hardened(synth: Synthesized) -> None:
    template = _template(synth, "sandbox")
    _, instance = one(template, "AWS::EC2::Instance")
    assert instance["MetadataOptions"] == {"HttpTokens": "required"}  # IMDSv2 only
    assert instance["BlockDeviceMappings"] == [
        {"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeType": "gp3"}}
    ]
    assert instance["SourceDestCheck"] is False  # it forwards the app tier's packets
    assert instance["InstanceType"] == load_stage("sandbox").web.nat_instance_type
    # The current Amazon Linux 2023 image for the type's architecture, resolved at deploy time, never pinned.
    image = template["Parameters"][instance["ImageId"]["Ref"]]
    assert image["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert image["Default"] == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64"
    assert instance["SecurityGroupIds"] == [{"Fn::GetAtt": [NAT_SG, "GroupId"]}]
    # The set-up script retries its first-boot install (aws/aws-cdk#36717), stops on any failure it can see,
    # needs neither `route` nor `service`, and saves the rules so a reboot keeps NAT.
    script = instance["UserData"]["Fn::Base64"]
    assert "for attempt in $(seq 1 30); do dnf install -y iptables-services && break;" in script
    assert "rpm -q iptables-services || exit 1" in script and '[ -n "$IFACE" ] || exit 1' in script
    assert 'iptables -t nat -A POSTROUTING -o "$IFACE" -j MASQUERADE' in script and "ip_forward=1" in script
    assert "route |" not in script and "service " not in script
    assert script.endswith("iptables-save > /etc/sysconfig/iptables")
    # It sits in a subnet that gives it the public address NAT needs.
    subnet = template["Resources"][instance["SubnetId"]["Ref"]]["Properties"]
    assert subnet["MapPublicIpOnLaunch"] is True
    role_id = template["Resources"][instance["IamInstanceProfile"]["Ref"]]["Properties"]["Roles"][0]["Ref"]
    role = template["Resources"][role_id]["Properties"]
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    assert statements_of_role(template, role_id) == []  # a role with no permissions at all


@pytest.mark.parametrize(("stage", "days"), [("sandbox", 7), ("prod", 365)])
def test_flow_logs_capture_all_traffic_with_stage_retention(synth: Synthesized, stage: str, days: int) -> None:
    template = _template(synth, stage)
    _, flow_log = one(template, "AWS::EC2::FlowLog")
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["ResourceType"] == "VPC"
    group = template["Resources"][flow_log["LogGroupName"]["Ref"]]
    assert group["Properties"]["RetentionInDays"] == days


# --- database ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_database_is_isolated_private_and_encrypted(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    _, group = one(template, "AWS::RDS::DBSubnetGroup")
    assert refs(group["SubnetIds"]) == subnets(template, "Data")
    cluster = template["Resources"][CLUSTER]["Properties"]
    assert cluster["StorageEncrypted"] is True
    assert cluster["Engine"] == "aurora-postgresql"
    assert re.fullmatch(r"1[7-9]\.\d+", cluster["EngineVersion"])
    assert cluster["EnableCloudwatchLogsExports"] == ["postgresql"]
    assert cluster["VpcSecurityGroupIds"] == [{"Fn::GetAtt": [DB_SG, "GroupId"]}]
    # Credentials come from the generated secret, never a literal.
    assert cluster["MasterUserPassword"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": SECRET}, ":SecretString:password::}}"]]
    }
    for instance in resources_of_type(template, "AWS::RDS::DBInstance").values():
        assert instance["Properties"]["PubliclyAccessible"] is False
        assert instance["Properties"]["DBInstanceClass"] == "db.serverless"


def test_sandbox_database_pauses_when_idle(synth: Synthesized) -> None:
    cluster = _template(synth, "sandbox")["Resources"][CLUSTER]["Properties"]
    assert cluster["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0,
        "MaxCapacity": 2,
        "SecondsUntilAutoPause": 600,
    }
    assert len(resources_of_type(_template(synth, "sandbox"), "AWS::RDS::DBInstance")) == 1


def test_prod_database_has_a_reader_that_scales_with_the_writer(synth: Synthesized) -> None:
    template = _template(synth, "prod")
    cluster = template["Resources"][CLUSTER]["Properties"]
    assert cluster["ServerlessV2ScalingConfiguration"] == {"MinCapacity": 0.5, "MaxCapacity": 16}
    tiers = sorted(
        i["Properties"]["PromotionTier"] for i in resources_of_type(template, "AWS::RDS::DBInstance").values()
    )
    assert tiers == [0, 1]  # writer, and a reader in tier 1: sized like the writer for failover


@pytest.mark.parametrize(
    ("stage", "protected", "policy", "backup_days"), [("sandbox", False, "Delete", 1), ("prod", True, "Retain", 14)]
)
def test_prod_keeps_the_database_and_sandbox_is_disposable(
    synth: Synthesized, stage: str, protected: bool, policy: str, backup_days: int
) -> None:
    template = _template(synth, stage)
    cluster = template["Resources"][CLUSTER]
    assert cluster["Properties"]["DeletionProtection"] is protected
    assert cluster["Properties"]["BackupRetentionPeriod"] == backup_days
    stateful = [CLUSTER, SECRET, *resources_of_type(template, "AWS::RDS::DBInstance")]
    for logical_id in stateful:
        resource = template["Resources"][logical_id]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (policy, policy), logical_id
    alb_id, alb = one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert {"Key": "deletion_protection.enabled", "Value": str(protected).lower()} in alb["LoadBalancerAttributes"]
    # CloudFormation cannot delete a protected load balancer: the stack lets go of it instead of failing.
    assert template["Resources"][alb_id].get("DeletionPolicy", "Delete") == policy


@pytest.mark.parametrize(("stage", "kept"), [("sandbox", False), ("prod", True)])
def test_what_retained_resources_use_is_retained_too(synth: Synthesized, stage: str, kept: bool) -> None:
    """The retained cluster and internal load balancer keep their interfaces in these subnets and groups, so
    deleting them would fail: prod keeps its network shell (with the internet gateway VPC origins require)."""
    template = _template(synth, stage)
    shell = [
        *resources_of_type(template, "AWS::EC2::VPC"),
        *resources_of_type(template, "AWS::EC2::InternetGateway"),
        *resources_of_type(template, "AWS::EC2::VPCGatewayAttachment"),
        *subnets(template, "App"),
        *subnets(template, "Data"),
        ALB_SG,
        DB_SG,
    ]
    policies = {lid: template["Resources"][lid].get("DeletionPolicy", "Delete") for lid in shell}
    assert policies == dict.fromkeys(shell, "Retain" if kept else "Delete")
    # What nothing retained uses still goes: the public subnets, the tasks' group, NAT, routes, endpoints.
    for lid in [*subnets(template, "Public"), APP_SG, *resources_of_type(template, "AWS::EC2::NatGateway")]:
        assert "DeletionPolicy" not in template["Resources"][lid], lid


@pytest.mark.parametrize("stage", STAGES)
def test_access_log_bucket_outlives_the_stack_and_is_never_emptied_by_it(synth: Synthesized, stage: str) -> None:
    """ELB delivers logs late and best effort: emptying the bucket at delete time cannot win that race."""
    template = _template(synth, stage)
    bucket = template["Resources"][BUCKET]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert resources_of_type(template, "Custom::S3AutoDeleteObjects") == {}


def test_prod_rotates_both_secrets_from_the_isolated_subnets(synth: Synthesized) -> None:
    template = _template(synth, "prod")
    schedules = resources_of_type(template, "AWS::SecretsManager::RotationSchedule").values()
    assert {s["Properties"]["SecretId"]["Ref"] for s in schedules} == {
        "DatabaseSecretAttachmentE5D1B020",  # the admin's: single user
        "DatabaseAppRoleSecretAttachment4D839DA0",  # the app's: alternating users
    }
    assert {json_key(s["Properties"]["RotationRules"]) for s in schedules} == {
        '{"ScheduleExpression": "rate(30 days)"}'
    }
    applications = resources_of_type(template, "AWS::Serverless::Application")
    assert len(applications) == 2
    for application in applications.values():
        parameters = application["Properties"]["Parameters"]
        assert refs(parameters["vpcSubnetIds"]["Fn::Join"][1][::2]) == subnets(template, "Data")
        assert parameters["vpcSecurityGroupIds"] == {"Fn::GetAtt": [ROTATION_SG, "GroupId"]}
    app_rotation = applications["DatabaseAppRoleRotation8AEF7940"]
    assert app_rotation["Properties"]["Parameters"]["masterSecretArn"] == {"Ref": "DatabaseSecretAttachmentE5D1B020"}
    # Its first run logs in as the app role, so it waits for the role (and the instances, as below).
    assert "DatabaseAppRole90133F2E" in app_rotation["DependsOn"]
    # They reach Secrets Manager through an endpoint in the same subnets.
    endpoints = [
        e["Properties"]
        for e in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    assert [e["ServiceName"] for e in endpoints] == ["com.amazonaws.eu-west-1.secretsmanager"]
    assert refs(endpoints[0]["SubnetIds"]) == subnets(template, "Data")
    assert endpoints[0]["PrivateDnsEnabled"] is True


def test_first_rotation_waits_for_every_database_instance(synth: Synthesized) -> None:
    """A new schedule rotates at once; the rotation function needs a running instance to change the password."""
    template = _template(synth, "prod")
    schedules = resources_of_type(template, "AWS::SecretsManager::RotationSchedule")
    instances = set(resources_of_type(template, "AWS::RDS::DBInstance"))
    assert len(instances) == 2 and len(schedules) == 2  # the admin's secret and the app role's
    stack = StackTemplate(path="prod/Web", template=template, account="", region="eu-west-1", stage="prod")
    for schedule in schedules:
        assert instances <= stack.transitive_dependencies(schedule), schedule
        # The role set-up logs in with the admin secret (Data API): a rotation between its setSecret and
        # finishSecret steps would fail it, so neither rotation starts before it is done.
        assert "DatabaseAppRole90133F2E" in stack.transitive_dependencies(schedule), schedule


@pytest.mark.parametrize(("stage", "days"), [("sandbox", 7), ("prod", 365)])
def test_exported_database_logs_go_to_a_group_the_stack_owns(synth: Synthesized, stage: str, days: int) -> None:
    template = _template(synth, stage)
    (group_id,) = [
        lid
        for lid, group in resources_of_type(template, "AWS::Logs::LogGroup").items()
        if "/aws/rds/cluster/" in str(group["Properties"].get("LogGroupName"))
    ]
    group = template["Resources"][group_id]
    assert group["Properties"]["LogGroupName"] == {
        "Fn::Join": ["", ["/aws/rds/cluster/", {"Ref": CLUSTER}, "/postgresql"]]
    }
    assert group["Properties"]["RetentionInDays"] == days
    assert group["DeletionPolicy"] == "Delete"
    # Created before RDS exports anything into it, and nothing else sets retention behind the stack's back.
    for instance in resources_of_type(template, "AWS::RDS::DBInstance").values():
        assert group_id in instance["DependsOn"]
    assert resources_of_type(template, "Custom::LogRetention") == {}


def test_sandbox_has_no_rotation_and_no_interface_endpoint(synth: Synthesized) -> None:
    template = _template(synth, "sandbox")
    assert resources_of_type(template, "AWS::SecretsManager::RotationSchedule") == {}
    endpoints = resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
    assert [e["Properties"]["VpcEndpointType"] for e in endpoints] == ["Gateway"]  # S3, free


# --- security groups -----------------------------------------------------------------------------

FROM_CLOUDFRONT = (ALB_SG, "tcp", f"prefix-list:{PREFIX_LIST_LOOKUP}", 80, 80)  # the VPC origin's traffic
FROM_FETCHERS = (ALB_SG, "tcp", FETCHERS_SG, 80, 80)
ALB_TO_APP = (APP_SG, "tcp", ALB_SG, 8080, 8080)
APP_TO_DB = (DB_SG, "tcp", APP_SG, 5432, 5432)
VPC_TO_NAT = (NAT_SG, "tcp", "10.0.0.0/16", 443, 443)  # only what the app tier sends out
ROTATION_TO_DB = (DB_SG, "tcp", ROTATION_SG, "db-port", "db-port")
ROTATION_TO_ENDPOINT = (ENDPOINT_SG, "tcp", ROTATION_SG, 443, 443)
# The endpoint's private DNS sends every Secrets Manager call in the VPC to it, the tasks' secrets included.
APP_TO_ENDPOINT = (ENDPOINT_SG, "tcp", APP_SG, 443, 443)


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("sandbox", {FROM_CLOUDFRONT, FROM_FETCHERS, ALB_TO_APP, APP_TO_DB, VPC_TO_NAT}),
        (
            "prod",
            {
                FROM_CLOUDFRONT,
                FROM_FETCHERS,
                ALB_TO_APP,
                APP_TO_DB,
                ROTATION_TO_DB,
                ROTATION_TO_ENDPOINT,
                APP_TO_ENDPOINT,
            },
        ),
    ],
)
def test_ingress_is_the_chain_and_nothing_else(synth: Synthesized, stage: str, expected: set[Any]) -> None:
    assert ingress_rules(_template(synth, stage)) == expected


@pytest.mark.parametrize("stage", STAGES)
def test_only_cloudfronts_vpc_origin_and_the_page_fetchers_reach_the_load_balancer(
    synth: Synthesized, stage: str
) -> None:
    """The internal ALB admits CloudFront's origin-facing prefix list (what the VPC origin's traffic comes from;
    a deploy-time lookup resolves it by its AWS-managed name) and the page fetchers' group, nothing else."""
    template = _template(synth, stage)
    assert {r for r in ingress_rules(template) if r[0] == ALB_SG} == {FROM_CLOUDFRONT, FROM_FETCHERS}
    lookup = json.loads(template["Resources"][PREFIX_LIST_LOOKUP]["Properties"]["Create"])
    assert (lookup["service"], lookup["action"]) == ("EC2", "describeManagedPrefixLists")
    assert lookup["parameters"]["Filters"] == [
        {"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}
    ]
    assert lookup["outputPaths"] == ["PrefixLists.0.PrefixListId"]


def rule_weight(template: dict[str, Any], group: str, rules: set[tuple[str, str, str, Any, Any]]) -> int:
    """Rules a group's ingress takes from its quota: a prefix list counts as its weight (cloudfront_access.py)."""
    return sum(PREFIX_LIST_WEIGHT if peer.startswith("prefix-list:") else 1 for g, _, peer, _, _ in rules if g == group)


@pytest.mark.parametrize("stage", STAGES)
def test_every_security_group_fits_the_default_rule_quota(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    rules = ingress_rules(template)
    for group in resources_of_type(template, "AWS::EC2::SecurityGroup"):
        assert rule_weight(template, group, rules) <= SECURITY_GROUP_RULE_QUOTA, group
    # The check can fail: the same prefix list on a second port would take 110 of 60 rules.
    second_port = {*rules, (ALB_SG, "tcp", f"prefix-list:{PREFIX_LIST_LOOKUP}", 443, 443)}
    assert rule_weight(template, ALB_SG, second_port) > SECURITY_GROUP_RULE_QUOTA


NO_EGRESS = ("icmp", "255.255.255.255/32", 252, 86)  # CDK's placeholder for "no outbound rule"


@pytest.mark.parametrize("stage", STAGES)
def test_egress_is_the_chain_plus_https_for_aws_apis(synth: Synthesized, stage: str) -> None:
    rules = egress_rules(_template(synth, stage))
    expected = {
        (ALB_SG, "tcp", APP_SG, 8080, 8080),
        (FETCHERS_SG, "tcp", ALB_SG, 80, 80),  # the pages they fetch
        (FETCHERS_SG, "tcp", "0.0.0.0/0", 443, 443),  # S3 (gateway endpoint) and the rest of AWS via NAT
        (APP_SG, "tcp", DB_SG, 5432, 5432),
        (APP_SG, "tcp", "0.0.0.0/0", 443, 443),  # ECR, Secrets Manager, CloudWatch Logs via NAT
        (DB_SG, *NO_EGRESS),
    }
    if stage == "sandbox":
        expected.add((NAT_SG, "tcp", "0.0.0.0/0", 443, 443))  # forwards what the tasks send, nothing more
    if stage == "prod":
        expected |= {
            (ROTATION_SG, "tcp", DB_SG, "db-port", "db-port"),
            (ROTATION_SG, "tcp", ENDPOINT_SG, 443, 443),
            (APP_SG, "tcp", ENDPOINT_SG, 443, 443),
            (ENDPOINT_SG, *NO_EGRESS),
        }
    assert rules == expected


# --- load balancer -------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_alb_is_internal_logs_access_and_drops_invalid_headers(synth: Synthesized, stage: str) -> None:
    """No public address: CloudFront reaches it through a VPC origin, in the private (App) subnets."""
    template = _template(synth, stage)
    _, alb = one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert alb["Scheme"] == "internal"
    assert refs(alb["Subnets"]) == subnets(template, "App")
    attributes = {a["Key"]: a["Value"] for a in alb["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": BUCKET}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


@pytest.mark.parametrize(("stage", "days"), [("sandbox", 30), ("prod", 365)])
def test_access_log_bucket_is_encrypted_private_tls_only_and_expires(synth: Synthesized, stage: str, days: int) -> None:
    template = synth.template(f"{stage}/Web")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {"Rules": [{"ExpirationInDays": days, "Status": "Enabled"}]},
        },
    )
    template.has_resource_properties("AWS::S3::BucketPolicy", tls_only_policy())


@pytest.mark.parametrize("stage", STAGES)
def test_listener_serves_every_path_and_checks_no_secret(synth: Synthesized, stage: str) -> None:
    """Reachability is the network's (internal ALB, two ingress rules), so the rule serving traffic carries no
    header secret for elasticloadbalancing:DescribeRules to show (ECS blue/green rewrites this rule's weights)."""
    template = _template(synth, stage)
    listeners = [
        listener["Properties"]
        for listener in resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    ]
    assert [(listener["Port"], listener["Protocol"]) for listener in listeners] == [(80, "HTTP")]
    (rule,) = [
        r["Properties"] for r in resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    ]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": SERVICE_TG}}]
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}]
    assert resources_of_type(template, "AWS::SecretsManager::Secret").keys() == {SECRET, APP_SECRET}


@pytest.mark.parametrize("stage", STAGES)
def test_target_group_health_check_hits_the_apps_health_route(synth: Synthesized, stage: str) -> None:
    _, group = one(_template(synth, stage), "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["TargetType"] == "ip"
    assert (group["Port"], group["Protocol"], group["ProtocolVersion"]) == (8080, "HTTP", "HTTP1")
    assert group["HealthCheckPath"] == "/health"
    assert group["Matcher"] == {"HttpCode": "200"}
    assert (group["HealthyThresholdCount"], group["UnhealthyThresholdCount"]) == (2, 3)


# --- service -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_cluster_has_container_insights(synth: Synthesized, stage: str) -> None:
    _, cluster = one(_template(synth, stage), "AWS::ECS::Cluster")
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


@pytest.mark.parametrize(("stage", "desired"), [("sandbox", 1), ("prod", None)])
def test_service_runs_private_without_public_ip_and_rolls_back_failed_deployments(
    synth: Synthesized, stage: str, desired: int
) -> None:
    template = _template(synth, stage)
    _, service = one(template, "AWS::ECS::Service")
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert refs(network["Subnets"]) == subnets(template, "App")
    assert network["SecurityGroups"] == [{"Fn::GetAtt": [APP_SG, "GroupId"]}]
    assert service["LaunchType"] == "FARGATE"
    # Prod leaves the count to auto scaling (min_tasks applies at once), so a deploy never resets it.
    assert service.get("DesiredCount") == desired
    assert service["HealthCheckGracePeriodSeconds"] == 60
    deployment = service["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    assert service["LoadBalancers"] == [
        {"ContainerName": "web", "ContainerPort": 8080, "TargetGroupArn": {"Ref": SERVICE_TG}}
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_deployment_alarms_roll_back_and_watch_the_service_target_group(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    alarms = template["Resources"]
    config = one(template, "AWS::ECS::Service")[1]["DeploymentConfiguration"]["Alarms"]
    assert (config["Enable"], config["Rollback"]) == (True, True)
    names = {a["Ref"] for a in config["AlarmNames"]}
    assert {alarms[n]["Properties"]["MetricName"] for n in names} == {"HTTPCode_Target_5XX_Count", "UnHealthyHostCount"}
    for name in names:
        dimensions = {d["Name"]: d["Value"] for d in alarms[name]["Properties"]["Dimensions"]}
        assert dimensions["TargetGroup"] == {"Fn::GetAtt": [SERVICE_TG, "TargetGroupFullName"]}
        assert "AlarmName" not in alarms[name]["Properties"]


APP_ATTACHMENT, ADMIN_ATTACHMENT = "DatabaseAppRoleSecretAttachment4D839DA0", "DatabaseSecretAttachmentE5D1B020"
ROLE_RESOURCE, ROLE_FUNCTION = "DatabaseAppRole90133F2E", "DatabaseAppRoleFunction31AED84E"


def _secret_readers(template: dict[str, Any]) -> dict[str, set[str]]:
    """Role logical id -> the secrets (logical ids) it may read."""
    readers: dict[str, set[str]] = {}
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" not in actions:
                continue
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for role in policy["Properties"]["Roles"]:
                readers.setdefault(role["Ref"], set()).update(r["Ref"] for r in resources)
    return readers


@pytest.mark.parametrize("stage", STAGES)
def test_the_app_connects_with_its_own_secret_and_the_admin_secret_stays_with_rotation(
    synth: Synthesized, stage: str
) -> None:
    template = _template(synth, stage)
    _, task = one(template, "AWS::ECS::TaskDefinition")
    (container,) = task["ContainerDefinitions"]
    assert "Environment" not in container  # nothing in plain text, not even the port
    assert container["Secrets"] == [
        {"Name": name, "ValueFrom": {"Fn::Join": ["", [{"Ref": APP_ATTACHMENT}, f":{field}::"]]}}
        for name, field in SECRET_FIELDS.items()
    ]
    assert container["ReadonlyRootFilesystem"] is True
    assert container["PortMappings"] == [{"ContainerPort": 8080, "Name": "web", "Protocol": "tcp"}]
    # The execution role (which pulls secrets at task start) reads the app's secret only; the admin secret is
    # read by the role set-up function alone (through the Data API) besides the rotation functions.
    execution_role = task["ExecutionRoleArn"]["Fn::GetAtt"][0]
    role_function_role = template["Resources"][ROLE_FUNCTION]["Properties"]["Role"]["Fn::GetAtt"][0]
    assert _secret_readers(template) == {
        execution_role: {APP_ATTACHMENT},
        role_function_role: {APP_SECRET, ADMIN_ATTACHMENT},
    }
    app_secret = template["Resources"][APP_SECRET]["Properties"]["GenerateSecretString"]["SecretStringTemplate"]
    assert app_secret == {
        "Fn::Join": ["", ['{"username":"app_user","dbname":"app","masterarn":"', {"Ref": ADMIN_ATTACHMENT}, '"}']]
    }


@pytest.mark.parametrize("stage", STAGES)
def test_the_app_role_is_created_at_deploy_before_the_tasks_start(synth: Synthesized, stage: str) -> None:
    template = _template(synth, stage)
    role = template["Resources"][ROLE_RESOURCE]
    assert role["Type"] == "Custom::AppDatabaseRole"
    props = role["Properties"]
    assert (props["Role"], props["Database"], props["Schema"]) == ("app_user", "app", "app")
    assert props["AdminSecretArn"] == {"Ref": ADMIN_ATTACHMENT}
    assert props["AppSecretArn"] == {"Ref": APP_SECRET}
    assert props["Statements"] == hashlib.sha256(ROLES_MODULE.read_bytes()).hexdigest()[:16]
    assert role["DependsOn"] == ["DatabaseClusterWriterD43085C6"]  # the Data API needs a running instance
    assert template["Resources"][CLUSTER]["Properties"]["EnableHttpEndpoint"] is True  # the Data API
    service_id, _ = one(template, "AWS::ECS::Service")
    assert ROLE_RESOURCE in template["Resources"][service_id]["DependsOn"]
    # The function reaches the cluster over the Data API, from outside the VPC: no network path to open.
    function = template["Resources"][ROLE_FUNCTION]["Properties"]
    assert "VpcConfig" not in function
    assert function["Handler"] == "db_roles.handler.handler"


@pytest.mark.parametrize(
    ("stage", "days", "cpu", "memory"), [("sandbox", 7, "256", "512"), ("prod", 365, "512", "1024")]
)
def test_task_size_and_log_retention_per_stage(
    synth: Synthesized, stage: str, days: int, cpu: str, memory: str
) -> None:
    template = _template(synth, stage)
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == (cpu, memory)
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    log_group = task["ContainerDefinitions"][0]["LogConfiguration"]["Options"]["awslogs-group"]["Ref"]
    assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == days


@pytest.mark.parametrize(("stage", "minimum", "maximum"), [("sandbox", 1, 2), ("prod", 2, 20)])
def test_service_scales_on_cpu_and_requests(synth: Synthesized, stage: str, minimum: int, maximum: int) -> None:
    template = _template(synth, stage)
    _, target = one(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (minimum, maximum)
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]: p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
        for p in resources_of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert policies == {"ECSServiceAverageCPUUtilization": 60, "ALBRequestCountPerTarget": 500}


# --- hand-off and contracts with the container ----------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_stack_exposes_the_alb_as_the_edge_origin(synth: Synthesized, stage: str) -> None:
    """What the edge stack's VPC origin resolves to at deploy time: the Web stack's output for the ALB's ARN, over
    plain HTTP inside AWS's network (no certificate on the ALB in either stage)."""
    (vpc_origin,) = resources_of_type(synth.templates[f"{stage}/Edge"], "AWS::CloudFront::VpcOrigin").values()
    endpoint = vpc_origin["Properties"]["VpcOriginEndpointConfig"]
    reference = endpoint["Arn"]["Fn::GetStackOutput"]
    assert reference["StackName"] == synth.stack_names[f"{stage}/Web"]
    output = _template(synth, stage)["Outputs"][reference["OutputName"]]
    assert output["Value"] == {"Ref": "LoadBalancerAlb240B1141"}
    assert endpoint["OriginProtocolPolicy"] == "http-only"


def test_task_command_runs_the_app_module_the_image_ships(synth: Synthesized) -> None:
    _, task = one(_template(synth, "sandbox"), "AWS::ECS::TaskDefinition")
    command = task["ContainerDefinitions"][0]["Command"]
    assert command[:3] == ["python", "-m", "web_app"]
    assert (CONTAINER_ROOT / "web_app" / "__main__.py").is_file()
    dockerfile = (CONTAINER_ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.MULTILINE), "the image must not run as root"


def test_secret_names_match_what_the_app_reads() -> None:
    from tests.web.container.conftest import WEB_APP_ROOT  # puts web_app on sys.path

    assert WEB_APP_ROOT == CONTAINER_ROOT
    from web_app.database import REQUIRED

    assert tuple(SECRET_FIELDS) == REQUIRED


def test_container_dependencies_are_pinned_like_the_test_environment() -> None:
    """The container's top-level pins are the test environment's, and both locks resolve them alike."""
    pins = [line for line in (CONTAINER_ROOT / "requirements.in").read_text().splitlines() if line and line[0] != "#"]
    dev = (ROOT / "requirements-dev.in").read_text().splitlines()
    assert pins and all("==" in pin for pin in pins)
    assert all(pin in dev for pin in pins)
    container_lock = locked(CONTAINER_ROOT / "requirements.txt")
    dev_lock = locked(ROOT / "requirements-dev.txt")
    assert container_lock and all(dev_lock.get(name, ("missing",))[0] == v for name, (v, _) in container_lock.items())


def test_the_origin_revision_changes_exactly_with_what_replaces_the_load_balancer() -> None:
    """The edge stack reads the load balancer's DNS name (and its origin rule's ARN) through Fn::GetStackOutput,
    refreshed only when its own template changes; the revision it embeds must change with whatever replaces them:
    the load balancer's create-only properties, or a new logical id of the load balancer, listener or rule."""
    from aws_cdk import App, Environment, Stack
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    from web.cloudfront_access import CloudFrontAccess
    from web.load_balancer import CREATE_ONLY, LoadBalancer
    from web.network import Network

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("eu-west-1", "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert {f"/properties/{name.capitalize()}" for name in CREATE_ONLY} == set(schema.schema["createOnlyProperties"])
    stage = load_stage("sandbox")
    stack = Stack(App(), "Web", env=Environment(region=stage.region))
    network = Network(stack, "Network", config=stage.web, zones=stage.availability_zones)
    access = CloudFrontAccess(stack, "OriginAccess", log_retention_days=stage.web.log_retention_days)
    load_balancer = LoadBalancer(
        stack, "LoadBalancer", config=stage.web, facts=stage.facts, network=network, access=access
    )
    cfn = load_balancer.alb.node.default_child
    assert isinstance(cfn, elbv2.CfnLoadBalancer)
    first = load_balancer.revision
    assert re.fullmatch(r"[0-9a-f]{12}", first) and load_balancer.revision == first  # stable
    cfn.add_property_override("IpAddressType", "dualstack")  # updated in place: no new address
    assert load_balancer.revision == first
    for name, value in (("scheme", "internet-facing"), ("name", "renamed"), ("type", "network")):
        original = getattr(cfn, name)
        setattr(cfn, name, value)
        assert load_balancer.revision != first, name
        setattr(cfn, name, original)
    assert load_balancer.revision == first
    revisions = {first}
    for construct in (load_balancer.alb, load_balancer.listener, load_balancer.origin_rule):
        resource = construct.node.default_child
        assert isinstance(resource, elbv2.CfnLoadBalancer | elbv2.CfnListener | elbv2.CfnListenerRule)
        resource.override_logical_id(f"Renamed{len(revisions)}")
        revisions.add(load_balancer.revision)
    assert len(revisions) == 4
