"""The cost model prices template resources from the dated price table (pure, fast)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.cost import Load, load_prices, stack_cost, total


def _template(*resources: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {"Resources": {rid: {"Type": kind, "Properties": props} for rid, kind, props in resources}}


def test_price_table_is_dated_and_sourced() -> None:
    prices = load_prices()
    assert prices["as_of"] and "verified" in prices["status"]
    for name, entry in prices["prices"].items():
        assert entry["source"].startswith("https://aws.amazon.com/"), name
        assert {"eu-west-1", "us-east-1"} <= set(entry), name


def test_nat_gateway_idle_cost_is_hourly_plus_its_public_ip() -> None:
    prices = load_prices()
    items = stack_cost(_template(("Nat", "AWS::EC2::NatGateway", {})), "eu-west-1", prices)
    expected = 730 * (
        prices["prices"]["nat_gateway_hour"]["eu-west-1"] + prices["prices"]["public_ipv4_hour"]["eu-west-1"]
    )
    assert items["NAT gateway"]["idle"] == pytest.approx(expected)


def test_nat_instance_costs_its_hour_public_ip_and_root_volume_and_much_less_than_a_gateway() -> None:
    prices = load_prices()
    table = prices["prices"]
    nat = ("Nat", "AWS::EC2::Instance", {"InstanceType": "t4g.nano", "SourceDestCheck": False})
    items = stack_cost(_template(nat), "eu-west-1", prices)
    expected = (
        730 * (table["ec2_t4g.nano_hour"]["eu-west-1"] + table["public_ipv4_hour"]["eu-west-1"])
        + 8 * table["ebs_gp3_gb_month"]["eu-west-1"]
    )
    assert items["NAT instance"] == {"idle": pytest.approx(expected), "load": pytest.approx(expected)}
    gateway = stack_cost(_template(("Nat", "AWS::EC2::NatGateway", {})), "eu-west-1", prices)["NAT gateway"]
    assert items["NAT instance"]["idle"] < gateway["idle"] / 4


def test_a_sized_root_volume_is_priced_and_other_instances_are_refused() -> None:
    prices = load_prices()
    sized = {
        "InstanceType": "t4g.micro",
        "SourceDestCheck": False,
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30}}],
    }
    default = {**sized, "BlockDeviceMappings": []}
    larger = stack_cost(_template(("Nat", "AWS::EC2::Instance", sized)), "eu-west-1", prices)["NAT instance"]
    smaller = stack_cost(_template(("Nat", "AWS::EC2::Instance", default)), "eu-west-1", prices)["NAT instance"]
    assert larger["idle"] - smaller["idle"] == pytest.approx(22 * prices["prices"]["ebs_gp3_gb_month"]["eu-west-1"])
    with pytest.raises(ValueError, match="NAT instances only"):
        stack_cost(_template(("Web", "AWS::EC2::Instance", {"InstanceType": "t4g.micro"})), "eu-west-1", prices)


def test_an_instance_type_without_a_price_is_named() -> None:
    template = _template(("Nat", "AWS::EC2::Instance", {"InstanceType": "c7gn.large", "SourceDestCheck": False}))
    with pytest.raises(KeyError, match=r"c7gn\.large"):
        stack_cost(template, "eu-west-1", load_prices())


def test_fargate_uses_the_scaling_range_and_architecture() -> None:
    template = _template(
        (
            "Task",
            "AWS::ECS::TaskDefinition",
            {
                "RequiresCompatibilities": ["FARGATE"],
                "Cpu": "512",
                "Memory": "1024",
                "RuntimePlatform": {"CpuArchitecture": "ARM64"},
            },
        ),
        ("Service", "AWS::ECS::Service", {}),
        (
            "Target",
            "AWS::ApplicationAutoScaling::ScalableTarget",
            {"ServiceNamespace": "ecs", "MinCapacity": 2, "MaxCapacity": 6},
        ),
    )
    items = stack_cost(template, "eu-west-1", load_prices())
    assert items["Fargate"]["load"] == pytest.approx(3 * items["Fargate"]["idle"])


def test_serverless_services_cost_nothing_idle() -> None:
    template = _template(
        ("Table", "AWS::DynamoDB::Table", {}),
        ("Api", "AWS::ApiGateway::RestApi", {}),
        ("Fn", "AWS::Lambda::Function", {"MemorySize": 512, "Architectures": ["arm64"]}),
        ("Machine", "AWS::StepFunctions::StateMachine", {}),
    )
    items = stack_cost(template, "eu-west-1", load_prices(), Load())
    assert total(items)["idle"] == 0
    assert all(v["load"] > 0 for v in items.values())


def test_edge_functions_are_priced_as_lambda_at_edge() -> None:
    trust = {"Statement": [{"Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}}]}
    template = _template(
        ("Role", "AWS::IAM::Role", {"AssumeRolePolicyDocument": trust}),
        ("Fn", "AWS::Lambda::Function", {"MemorySize": 128, "Role": {"Fn::GetAtt": ["Role", "Arn"]}}),
    )
    prices = load_prices()["prices"]
    items = stack_cost(template, "us-east-1", load_prices(), Load(page_views=1e6, edge_hit_ratio=0.5))
    # Half the views miss the edge caches and invoke the 128 MB function for Load.edge_lambda_ms each.
    calls, seconds, gb = 0.5e6, Load().edge_lambda_ms / 1000, 128 / 1024
    expected = (
        calls / 1e6 * prices["lambda_edge_request_million"]["us-east-1"]
        + calls * seconds * gb * prices["lambda_edge_gb_second"]["us-east-1"]
    )
    assert items == {"Lambda@Edge": {"idle": 0.0, "load": pytest.approx(expected)}}
    regional = stack_cost(
        _template(("Fn", "AWS::Lambda::Function", {"MemorySize": 128})), "us-east-1", load_prices(), Load()
    )
    assert "Lambda@Edge" not in regional  # the edgelambda trust is what makes it one


def test_snap_start_adds_its_cache_all_month_and_a_restore_per_new_environment() -> None:
    prices = load_prices()["prices"]
    api = ("Api", "AWS::ApiGateway::RestApi", {})
    snap = {"MemorySize": 1024, "Architectures": ["arm64"], "SnapStart": {"ApplyOn": "PublishedVersions"}}
    load = Load(api_requests=2e6, api_new_environment_share=0.05)
    items = stack_cost(_template(api, ("Fn", "AWS::Lambda::Function", snap)), "eu-west-1", load_prices(), load)
    cache = 1.0 * 730 * 3600 * prices["lambda_snapstart_cache_gb_second"]["eu-west-1"]  # 1 GB all month
    restores = 2e6 * 0.05 * 1.0 * prices["lambda_snapstart_restore_gb"]["eu-west-1"]  # 100,000 restores of 1 GB
    assert items["Lambda SnapStart"] == {"idle": pytest.approx(cache), "load": pytest.approx(cache + restores)}
    assert (round(cache, 2), round(restores, 2)) == (3.95, 13.98)
    off = {**snap, "SnapStart": {"ApplyOn": "None"}}
    plain = stack_cost(_template(api, ("Fn", "AWS::Lambda::Function", off)), "eu-west-1", load_prices(), load)
    assert "Lambda SnapStart" not in plain
    assert plain["Lambda"] == items["Lambda"]  # duration and requests are the same either way


def test_fixed_monthly_items() -> None:
    template = _template(
        ("Key", "AWS::KMS::Key", {}),
        ("Secret", "AWS::SecretsManager::Secret", {}),
        ("Alarm", "AWS::CloudWatch::Alarm", {}),
        ("Acl", "AWS::WAFv2::WebACL", {"Scope": "REGIONAL", "Rules": [{}, {}]}),
    )
    items = stack_cost(template, "eu-west-1", load_prices())
    assert items["KMS keys"]["idle"] == pytest.approx(1.0)
    assert items["Secrets Manager"]["idle"] == pytest.approx(0.40)
    assert items["CloudWatch alarms"]["idle"] == pytest.approx(0.10)
    assert items["WAF"]["idle"] == pytest.approx(7.0)


def test_an_internal_load_balancer_pays_no_public_addresses_and_a_vpc_origin_is_priced_at_zero() -> None:
    """The seam of issue 20: the internal ALB behind a VPC origin drops the public IPv4 charge per zone."""
    prices = load_prices()
    subnets = ["a", "b", "c"]
    public = ("Alb", "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Subnets": subnets})
    internal = ("Alb", "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Subnets": subnets, "Scheme": "internal"})
    saved = stack_cost(_template(public), "eu-west-1", prices)["ALB"]["idle"]
    saved -= stack_cost(_template(internal), "eu-west-1", prices)["ALB"]["idle"]
    assert saved == pytest.approx(3 * 730 * prices["prices"]["public_ipv4_hour"]["eu-west-1"])
    items = stack_cost(_template(("Origin", "AWS::CloudFront::VpcOrigin", {})), "eu-west-1", prices)
    assert items == {"CloudFront VPC origin": {"idle": 0.0, "load": 0.0}}
