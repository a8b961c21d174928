"""Fine-grained assertions on the edge cache stacks: how pages reach viewers (an origin group, S3 through OAC
then the web service's VPC origin, no function on the way), that no secret and no Lambda@Edge function is left,
what protects the cache bucket, and how the publisher fetches inside the VPC, retries and records failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge import buckets, distribution
from edge.publisher import BATCH_BYTES, BATCH_PATHS, RETRYABLE_ERRORS
from edge_cache import keys
from quality.readiness.template import refs
from stage.builder import EDGE_US_EAST_1_ID, stack_ids
from stage.config import load_stage
from tests.support.iam import actions_on, role_of_function, statements_of_role, tls_only_policy
from tests.support.synth import Synthesized, resources_of_type
from tests.support.variants import EDGE_CERTIFICATE, EDGE_WEB_ACL, WEB_ORIGIN_NAME

STAGES = ("sandbox", "prod")
CACHE, LOGS = "StorageCacheEC0123D0", "StorageAccessLogs96FB524C"
ALB = "LoadBalancerAlb240B1141"  # in the Web stack
FETCHERS = "LoadBalancerFetchers8697F7C5"  # in the Web stack: the security group the load balancer admits


def _edge(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/Edge"]


def _us_east_1(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/{EDGE_US_EAST_1_ID}"]


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources_of_type(template, resource_type).items()
    return item


def _distribution(synth: Synthesized, stage: str) -> dict[str, Any]:
    return _one(_edge(synth, stage), "AWS::CloudFront::Distribution")[1]["Properties"]["DistributionConfig"]


def _definition(synth: Synthesized, stage: str) -> dict[str, Any]:
    """The state machine's ASL, with every CloudFormation token replaced by a placeholder."""
    props = _one(_edge(synth, stage), "AWS::StepFunctions::StateMachine")[1]["Properties"]
    parts = props["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "<token>" for p in parts))  # type: ignore[no-any-return]


def _web_output(synth: Synthesized, stage: str, logical_id: str, kind: str = "Ref", attribute: str = "") -> Any:
    """The weak cross-stack reference (Fn::GetStackOutput) CDK writes for a Ref/GetAtt of a Web stack resource."""
    outputs = synth.templates[f"{stage}/Web"]["Outputs"]
    (name,) = [n for n in outputs if n.startswith(f"PublishOutput{kind}{logical_id}{attribute}")]
    return {"Fn::GetStackOutput": {"StackName": f"{stage}-Web", "Region": "eu-west-1", "OutputName": name}}


# No function and no secret: what the VPC origin design took out.


@pytest.mark.parametrize("stage", STAGES)
def test_no_page_is_handled_by_a_lambda_at_edge_function(synth: Synthesized, stage: str) -> None:
    """VPC origins do not support origin-request or origin-response Lambda@Edge triggers (Restrict access with
    VPC origins, CloudFront Developer Guide): no behaviour has one, and no stack of the stage holds a function
    that edgelambda.amazonaws.com may run."""
    config = _distribution(synth, stage)
    for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert "LambdaFunctionAssociations" not in behavior and "FunctionAssociations" not in behavior
    for stack in stack_ids(load_stage(stage)):
        assert "edgelambda.amazonaws.com" not in json.dumps(synth.templates[f"{stage}/{stack}"]), stack


def test_the_us_east_1_stack_exists_for_the_web_acl_only(synth: Synthesized) -> None:
    """Prod's web ACL must be created in us-east-1; sandbox has none, so it has no us-east-1 stack at all."""
    assert f"sandbox/{EDGE_US_EAST_1_ID}" not in synth.templates
    assert EDGE_US_EAST_1_ID not in stack_ids(load_stage("sandbox"))
    assert synth.regions[f"prod/{EDGE_US_EAST_1_ID}"] == "us-east-1"
    kinds = {r["Type"] for r in _us_east_1(synth, "prod")["Resources"].values()} - {"AWS::CDK::Metadata"}
    assert kinds == {"AWS::WAFv2::WebACL", "AWS::SSM::Parameter"}


@pytest.mark.parametrize("stage", STAGES)
def test_no_secret_is_left_to_hand_to_cloudfront(synth: Synthesized, stage: str) -> None:
    """No origin secret, no publish key, no rotation: nothing a reader of the distribution's configuration
    (cloudfront:GetDistributionConfig returns origin custom headers) or of the listener
    (elasticloadbalancing:DescribeRules returns rule conditions) could learn."""
    edge = _edge(synth, stage)
    assert resources_of_type(edge, "AWS::SecretsManager::Secret") == {}
    assert resources_of_type(edge, "AWS::SecretsManager::RotationSchedule") == {}
    for origin in _distribution(synth, stage)["Origins"]:
        assert "OriginCustomHeaders" not in origin, origin["Id"]
    for rule in resources_of_type(
        synth.templates[f"{stage}/Web"], "AWS::ElasticLoadBalancingV2::ListenerRule"
    ).values():
        assert "{{resolve:" not in json.dumps(rule["Properties"]["Conditions"])


@pytest.mark.parametrize("stage", STAGES)
def test_a_replaced_origin_changes_the_edge_template(synth: Synthesized, stage: str) -> None:
    """Fn::GetStackOutput is resolved when the consuming stack is created or updated, and an unchanged template
    does not update: the origin's revision (what would replace the load balancer) is in the template, in the
    distribution's comment and in the VPC origin's logical id (a VPC origin in use cannot be updated, so a
    replaced load balancer gets a new one)."""
    revision = synth.facts["origin_revisions"][f"{stage}/Web"]  # the Web stack's origin, as the builder made it
    template = _edge(synth, stage)
    assert '"Fn::GetStackOutput"' in json.dumps(template)  # the Web stack's values arrive this way
    assert _distribution(synth, stage)["Comment"].endswith(f"(origin {revision})")
    (vpc_origin_id,) = resources_of_type(template, "AWS::CloudFront::VpcOrigin")
    assert vpc_origin_id.startswith(f"CdnWeb{revision}")


# Pages: the cache bucket first, the web origin behind it.


def _page_behaviors(synth: Synthesized, stage: str) -> list[dict[str, Any]]:
    config = _distribution(synth, stage)
    assets = load_stage(stage).edge.assets_path_pattern
    behaviors = [config["DefaultCacheBehavior"]] + [b for b in config["CacheBehaviors"] if b["PathPattern"] != assets]
    assert len(behaviors) == 1 + len(load_stage(stage).edge.behaviors)
    return behaviors


def _origins(synth: Synthesized, stage: str) -> dict[str, dict[str, Any]]:
    return {o["Id"]: o for o in _distribution(synth, stage)["Origins"]}


def _group_members(synth: Synthesized, stage: str) -> tuple[dict[str, Any], dict[str, Any]]:
    (group,) = _distribution(synth, stage)["OriginGroups"]["Items"]
    primary, fallback = (_origins(synth, stage)[m["OriginId"]] for m in group["Members"]["Items"])
    return primary, fallback


def _headers(origin: dict[str, Any]) -> dict[str, Any]:
    return {h["HeaderName"]: h["HeaderValue"] for h in origin.get("OriginCustomHeaders", [])}


@pytest.mark.parametrize("stage", STAGES)
def test_pages_come_from_the_cache_bucket_then_the_web_origin(synth: Synthesized, stage: str) -> None:
    groups = _distribution(synth, stage)["OriginGroups"]
    (group,) = groups["Items"]
    assert groups["Quantity"] == 1
    for behavior in _page_behaviors(synth, stage):
        assert behavior["TargetOriginId"] == group["Id"]
        assert behavior["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"]  # origin groups fail over for these only
    primary, fallback = _group_members(synth, stage)
    assert primary["DomainName"] == {"Fn::GetAtt": [CACHE, "RegionalDomainName"]}
    assert "OriginAccessControlId" in primary and "VpcOriginConfig" in fallback
    # A page missing from S3 (403: CloudFront may not list the bucket), S3 errors and its 503 Slow Down go to the
    # web origin; a 404 from S3 cannot happen (no s3:ListBucket).
    codes = group["FailoverCriteria"]["StatusCodes"]
    assert codes["Items"] == list(distribution.FAILOVER_STATUS_CODES) == [403, 500, 502, 503, 504]


@pytest.mark.parametrize("stage", STAGES)
def test_cloudfront_reads_the_keys_the_publisher_writes(synth: Synthesized, stage: str) -> None:
    """The S3 origin's path + the viewer's URI is the key: edge_cache.keys and the bucket's prefix agree."""
    primary, _ = _group_members(synth, stage)
    assert primary["OriginPath"] + "/news/today" == "/" + (keys.cache_key("/news/today") or "")
    assert buckets.PAGES_PREFIX == keys.PAGES_PREFIX


@pytest.mark.parametrize("stage", STAGES)
def test_a_page_is_its_path_and_origins_get_nothing_else(synth: Synthesized, stage: str) -> None:
    template = _edge(synth, stage)
    for behavior in _page_behaviors(synth, stage):
        assert "OriginRequestPolicyId" not in behavior  # S3 and the web origin see the cache key only
        policy = template["Resources"][behavior["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        # No query string at all: the publisher needs none (it fetches inside the VPC), and tracking parameters
        # would multiply the copies.
        assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
        assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
        assert key["CookiesConfig"] == {"CookieBehavior": "none"}


@pytest.mark.parametrize("stage", STAGES)
def test_the_web_origin_is_a_vpc_origin_on_this_apps_internal_load_balancer(synth: Synthesized, stage: str) -> None:
    """No public listener and no header: CloudFront reaches the load balancer through a VPC origin (HTTP inside
    AWS's network in both shipped stages, which set no certificate; the 'tuned' variant below: HTTPS)."""
    template = _edge(synth, stage)
    _, web = _group_members(synth, stage)
    vpc_origin_id, vpc_origin = _one(template, "AWS::CloudFront::VpcOrigin")
    assert web["VpcOriginConfig"] == {
        "VpcOriginId": {"Fn::GetAtt": [vpc_origin_id, "Id"]},
        "OriginReadTimeout": distribution.WEB_READ_TIMEOUT_S,
        "OriginKeepaliveTimeout": distribution.WEB_KEEPALIVE_TIMEOUT_S,
    }
    assert web["DomainName"] == _web_output(synth, stage, ALB, "FnGetAtt", "DNSName")
    endpoint = vpc_origin["Properties"]["VpcOriginEndpointConfig"]
    assert endpoint["Arn"] == _web_output(synth, stage, ALB)
    assert (endpoint["OriginProtocolPolicy"], endpoint["OriginSSLProtocols"]) == ("http-only", ["TLSv1.2"])
    assert "CustomOriginConfig" not in web and "OriginCustomHeaders" not in web


def test_origin_shield_covers_both_page_origins_in_prod_in_their_region(synth: Synthesized) -> None:
    """One cache in front of both origins (bench/capacity.py: without it every regional cache fills on its own),
    in the Region with the lowest latency to them, their own: no function runs on a fill, so no Lambda concurrency
    pushes it elsewhere."""

    def shields(stage: str) -> list[Any]:
        return [origin.get("OriginShield") for origin in _group_members(synth, stage)]

    region = load_stage("prod").edge.origin_shield_region
    assert region == load_stage("prod").region
    assert shields("prod") == [{"Enabled": True, "OriginShieldRegion": region}] * 2
    assert all(shield in (None, {"Enabled": False}) for shield in shields("sandbox"))


# The cache bucket.


@pytest.mark.parametrize("stage", STAGES)
def test_buckets_are_private_encrypted_and_ssl_only(synth: Synthesized, stage: str) -> None:
    template = synth.template(f"{stage}/Edge")
    for bucket in (CACHE, LOGS):
        props = _edge(synth, stage)["Resources"][bucket]["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
        template.has_resource_properties(
            "AWS::S3::BucketPolicy", tls_only_policy({"Action": "s3:*"}, Bucket={"Ref": bucket})
        )


@pytest.mark.parametrize("stage", STAGES)
def test_cache_bucket_ownership_lifecycle_and_logging(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage).edge
    props = _edge(synth, stage)["Resources"][CACHE]["Properties"]
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-cached-pages"]["Prefix"] == "pages/"
    assert rules["expire-cached-pages"]["ExpirationInDays"] == config.cached_object_expiry_days
    assert rules["abort-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": LOGS}


@pytest.mark.parametrize(("stage", "policy", "auto_delete"), [("sandbox", "Delete", True), ("prod", "Retain", False)])
def test_prod_keeps_the_cache_and_sandbox_deletes_it(
    synth: Synthesized, stage: str, policy: str, auto_delete: bool
) -> None:
    template = _edge(synth, stage)
    cache = template["Resources"][CACHE]
    assert (cache["DeletionPolicy"], cache["UpdateReplacePolicy"]) == (policy, policy)
    emptied = [
        refs(c["Properties"]["BucketName"]) for c in resources_of_type(template, "Custom::S3AutoDeleteObjects").values()
    ]
    assert emptied == ([{CACHE}] if auto_delete else [])


@pytest.mark.parametrize("stage", STAGES)
def test_the_log_bucket_outlives_the_stack_and_is_never_emptied_by_it(synth: Synthesized, stage: str) -> None:
    """CloudFront delivers logs up to 24 hours late: emptying the bucket at delete time cannot win that race."""
    logs = _edge(synth, stage)["Resources"][LOGS]
    assert (logs["DeletionPolicy"], logs["UpdateReplacePolicy"]) == ("Retain", "Retain")


@pytest.mark.parametrize("stage", STAGES)
def test_only_cloudfront_through_oac_reads_the_bucket_by_policy(synth: Synthesized, stage: str) -> None:
    template = _edge(synth, stage)
    dist_id, _ = _one(template, "AWS::CloudFront::Distribution")
    oac_id, oac = _one(template, "AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"
    s3_origins = [o for o in _distribution(synth, stage)["Origins"] if "S3OriginConfig" in o]
    assert len(s3_origins) == 2  # pages (under /pages) and assets, through the one OAC
    for s3_origin in s3_origins:
        assert s3_origin["DomainName"] == {"Fn::GetAtt": [CACHE, "RegionalDomainName"]}
        assert s3_origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    (policy,) = [
        p
        for p in resources_of_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": CACHE}
    ]
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    # Sandbox also lets the auto-delete handler empty the bucket on stack deletion (list and delete only).
    if stage == "sandbox":
        cleaner = allows.pop(0)
        assert "CustomS3AutoDeleteObjects" in json.dumps(cleaner["Principal"])
        assert not any(a.startswith("s3:Get") and a != "s3:GetBucket*" for a in cleaner["Action"])
    assert len(allows) == 1
    assert allows[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allows[0]["Action"] == "s3:GetObject"  # no ListBucket: a missing page is a 403, a failover code
    assert {"Ref": dist_id} in allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]


# The distribution.


@pytest.mark.parametrize("stage", STAGES)
def test_every_behavior_redirects_to_https_and_compresses(synth: Synthesized, stage: str) -> None:
    config = _distribution(synth, stage)
    for behavior in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["Compress"] is True
        assert "ResponseHeadersPolicyId" in behavior


@pytest.mark.parametrize("stage", STAGES)
def test_cache_policies_carry_the_ttls_of_each_path_pattern(synth: Synthesized, stage: str) -> None:
    edge = load_stage(stage).edge
    template = _edge(synth, stage)
    config = _distribution(synth, stage)

    def ttls(behavior: dict[str, Any]) -> tuple[int, int, int]:
        policy = template["Resources"][behavior["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
        return policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]

    assert ttls(config["DefaultCacheBehavior"]) == (edge.default_min_ttl_s, edge.default_ttl_s, edge.default_max_ttl_s)
    by_pattern = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(by_pattern) == {edge.assets_path_pattern, *(b.path_pattern for b in edge.behaviors)}
    for behavior in edge.behaviors:
        assert ttls(by_pattern[behavior.path_pattern]) == (
            behavior.min_ttl_s,
            behavior.default_ttl_s,
            behavior.max_ttl_s,
        )
    assert ttls(by_pattern[edge.assets_path_pattern])[1] == edge.assets_ttl_s


@pytest.mark.parametrize("stage", STAGES)
def test_distribution_logs_price_class_and_protocols(synth: Synthesized, stage: str) -> None:
    config = _distribution(synth, stage)
    assert config["Logging"] == {"Bucket": {"Fn::GetAtt": [LOGS, "RegionalDomainName"]}, "Prefix": "cloudfront/"}
    assert config["PriceClass"] == load_stage(stage).edge.price_class
    assert config["HttpVersion"] == "http2and3"
    assert "Aliases" not in config  # neither stage sets them


def _checkov_skips(resource: dict[str, Any]) -> set[str]:
    return {skip["id"] for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])}


def test_prod_creates_a_cloudfront_web_acl_in_us_east_1_with_managed_rules_and_a_rate_limit(synth: Synthesized) -> None:
    functions, edge = _us_east_1(synth, "prod"), _edge(synth, "prod")
    acl_id, acl = _one(functions, "AWS::WAFv2::WebACL")
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT" and synth.regions[f"prod/{EDGE_US_EAST_1_ID}"] == "us-east-1"
    assert props["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in props["Rules"]}
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        assert rules[group]["Statement"]["ManagedRuleGroupStatement"] == {"VendorName": "AWS", "Name": group}
        assert rules[group]["OverrideAction"] == {"None": {}}  # the groups' own block actions apply
    assert rules["RatePerIp"]["Action"] == {"Block": {}}
    assert rules["RatePerIp"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": load_stage("prod").edge.waf_rate_limit_per_5min,
    }
    # Its ARN crosses to the stage region through an SSM parameter in us-east-1, read there at deploy time.
    (parameter,) = [
        p["Properties"]
        for p in resources_of_type(functions, "AWS::SSM::Parameter").values()
        if p["Properties"]["Value"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    ]
    reader_id, reader = _one(edge, "Custom::AWS")
    call = json.loads(reader["Properties"]["Create"])
    assert (call["service"], call["action"], call["region"]) == ("SSM", "getParameter", "us-east-1")
    assert call["parameters"] == {"Name": parameter["Name"]}
    assert _distribution(synth, "prod")["WebACLId"] == {"Fn::GetAtt": [reader_id, "Parameter.Value"]}


def test_sandbox_has_no_web_acl_and_says_why(synth: Synthesized) -> None:
    assert f"sandbox/{EDGE_US_EAST_1_ID}" not in synth.templates
    assert "WebACLId" not in _distribution(synth, "sandbox")
    _, distribution = _one(_edge(synth, "sandbox"), "AWS::CloudFront::Distribution")
    assert {"CKV_AWS_68", "CKV_AWS_174"} <= _checkov_skips(distribution)
    _, distribution = _one(_edge(synth, "prod"), "AWS::CloudFront::Distribution")
    assert "CKV_AWS_68" not in _checkov_skips(distribution)  # prod has its web ACL: nothing to skip


@pytest.mark.parametrize("stage", STAGES)
def test_the_publisher_fetches_from_the_load_balancer_inside_the_vpc(synth: Synthesized, stage: str) -> None:
    """Not through CloudFront: no parameter, no key, no web ACL. It runs in the web service's private subnets
    with the security group the load balancer admits."""
    edge, web = _edge(synth, stage), synth.templates[f"{stage}/Web"]
    (fetcher,) = [
        f["Properties"]
        for f in resources_of_type(edge, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "edge_cache.publisher.handler"
    ]
    variables = fetcher["Environment"]["Variables"]
    assert variables["ORIGIN_URL"] == {
        "Fn::Join": ["", ["http://", _web_output(synth, stage, ALB, "FnGetAtt", "DNSName")]]
    }
    assert "ORIGIN_TLS_NAME" not in variables  # no certificate in the shipped stages
    assert fetcher["VpcConfig"]["SecurityGroupIds"] == [_web_output(synth, stage, FETCHERS, "FnGetAtt", "GroupId")]
    app_subnets = {k for k, r in resources_of_type(web, "AWS::EC2::Subnet").items() if "AppSubnet" in k}
    assert fetcher["VpcConfig"]["SubnetIds"] == [_web_output(synth, stage, s) for s in sorted(app_subnets)]
    assert (fetcher["MemorySize"], fetcher["Architectures"]) == (1024, ["arm64"])  # make tune's pick (bench/tune.py)


@pytest.mark.parametrize("stage", STAGES)
def test_security_headers_are_set_on_every_response(synth: Synthesized, stage: str) -> None:
    _, policy = _one(_edge(synth, stage), "AWS::CloudFront::ResponseHeadersPolicy")
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"]["FrameOption"] == "SAMEORIGIN"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"


# Logs.


@pytest.mark.parametrize("stage", STAGES)
def test_no_stack_keeps_a_log_group_for_lambda_at_edge_replicas(synth: Synthesized, stage: str) -> None:
    """With no Lambda@Edge function there are no replicas, so no /aws/lambda/us-east-1.<name> group to keep in a
    region they might run in (the EdgeLogsWhereFunctionRuns rule checks them where there are)."""
    for stack in stack_ids(load_stage(stage)):
        for group in resources_of_type(synth.templates[f"{stage}/{stack}"], "AWS::Logs::LogGroup").values():
            assert "/aws/lambda/us-east-1." not in json.dumps(group["Properties"].get("LogGroupName", "")), stack


# The publisher.


def _batch(synth: Synthesized, stage: str) -> dict[str, Any]:
    """The states of one batch: the distributed Map's child workflow."""
    return _definition(synth, stage)["States"]["PublishBatches"]["ItemProcessor"]["States"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("stage", STAGES)
def test_publisher_runs_batches_as_child_executions_with_a_concurrency_limit(synth: Synthesized, stage: str) -> None:
    edge = load_stage(stage).edge
    states = _definition(synth, stage)["States"]
    batches = states["PublishBatches"]
    assert batches["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert batches["ItemsPath"] == "$.paths"
    assert batches["ItemBatcher"] == {"MaxItemsPerBatch": BATCH_PATHS, "MaxInputBytesPerBatch": BATCH_BYTES}
    assert batches["MaxConcurrency"] == 1
    each = _batch(synth, stage)["PublishEach"]
    assert (each["ItemsPath"], each["MaxConcurrency"]) == ("$.Items", edge.publish_concurrency)
    assert each["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    assert states["BatchSizeAllowed"]["Choices"][0] == {
        "Variable": f"$.paths[{edge.publish_max_paths}]",
        "IsPresent": True,
        "Next": "TooManyPaths",
    }


@pytest.mark.parametrize("stage", STAGES)
def test_publisher_retries_with_backoff_and_jitter_and_records_failures(synth: Synthesized, stage: str) -> None:
    edge = load_stage(stage).edge
    inner = _batch(synth, stage)["PublishEach"]["ItemProcessor"]["States"]
    fetch = inner["FetchAndStorePage"]
    assert fetch["Retry"] == [
        {
            "ErrorEquals": RETRYABLE_ERRORS,
            "IntervalSeconds": edge.publish_retry_interval_s,
            "MaxAttempts": edge.publish_retry_attempts,
            "BackoffRate": edge.publish_backoff_rate,
            "MaxDelaySeconds": edge.publish_max_delay_s,
            "JitterStrategy": "FULL",
        }
    ]
    for task in (fetch, inner["DeleteCachedCopy"]):
        assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "RecordFailure"}]
    assert inner["FoundAtOrigin"]["Choices"] == [
        {"Variable": "$.result", "StringEquals": "not_found", "Next": "DeleteCachedCopy"}
    ]
    assert inner["DeleteCachedCopy"]["Resource"].endswith(":states:::aws-sdk:s3:deleteObject")
    # Every path ends in one fixed word, so a batch's state holds no paths, errors or stack traces.
    ends = {name: inner[name]["Parameters"] for name in ("Stored", "Deleted", "RecordFailure")}
    assert ends == {
        "Stored": {"result": "stored"},
        "Deleted": {"result": "deleted"},
        "RecordFailure": {"result": "failed"},
    }


@pytest.mark.parametrize("stage", STAGES)
def test_each_batch_invalidates_its_paths_and_reports_only_a_count(synth: Synthesized, stage: str) -> None:
    batch = _batch(synth, stage)
    assert batch["PublishEach"]["Next"] == "InvalidateBatch"
    invalidate = batch["InvalidateBatch"]
    assert invalidate["Resource"].endswith(":states:::aws-sdk:cloudfront:createInvalidation")
    invalidation = invalidate["Parameters"]["InvalidationBatch"]
    assert invalidation["CallerReference.$"] == "$$.Execution.Name"  # the batch's own execution
    assert invalidation["Paths"] == {"Quantity.$": "States.ArrayLength($.Items)", "Items.$": "$.Items"}
    assert invalidate["Retry"][0]["JitterStrategy"] == "FULL"
    assert batch["CountFailures"]["Parameters"] == {"failures.$": "$.results[?(@.result == 'failed')]"}
    assert batch["SomeFailed"]["Parameters"] == {"result": "failed", "failed.$": "States.ArrayLength($.failures)"}
    assert batch["AllPublished"]["Parameters"] == {"result": "published", "failed": 0}


@pytest.mark.parametrize("stage", STAGES)
def test_every_path_is_checked_before_any_batch_fetches_or_invalidates(synth: Synthesized, stage: str) -> None:
    """A batch invalidates all its paths, so a `/*` that reached one would purge the site."""
    states = _definition(synth, stage)["States"]
    assert states["BatchSizeAllowed"]["Default"] == "ValidatePaths"
    validate = states["ValidatePaths"]
    assert (validate["Next"], validate["ResultPath"]) == ("PublishBatches", None)
    assert (validate["Type"], validate["Parameters"]) == ("Task", {"validate.$": "$.paths"})
    assert validate["Catch"] == [{"ErrorEquals": ["InvalidPath"], "ResultPath": "$.failure", "Next": "InvalidPaths"}]
    assert "InvalidPath" not in {e for r in validate["Retry"] for e in r["ErrorEquals"]}
    assert states["InvalidPaths"] == {"Type": "Fail", "Error": "InvalidPaths", "CausePath": "$.failure.Cause"}


@pytest.mark.parametrize("stage", STAGES)
def test_failed_batches_fail_the_execution(synth: Synthesized, stage: str) -> None:
    states = _definition(synth, stage)["States"]
    assert states["PublishBatches"]["Next"] == "FindFailedBatches"
    assert states["FindFailedBatches"]["Parameters"] == {"failed.$": "$[?(@.result == 'failed')]"}
    assert states["AnyPathFailed"]["Choices"][0] == {
        "Variable": "$.failed[0]",
        "IsPresent": True,
        "Next": "SomePathsFailed",
    }
    assert states["SomePathsFailed"]["Type"] == "Fail"
    assert "States.ArrayLength($.failed)" in states["SomePathsFailed"]["CausePath"]


@pytest.mark.parametrize("stage", STAGES)
def test_publisher_logs_to_a_vended_log_group(synth: Synthesized, stage: str) -> None:
    """Outside /aws/vendedlogs/ every log group grows the account's CloudWatch Logs resource policy (5,120 chars)."""
    template = _edge(synth, stage)
    _, machine = _one(template, "AWS::StepFunctions::StateMachine")
    (group_id,) = refs(machine["Properties"]["LoggingConfiguration"])
    assert (
        template["Resources"][group_id]["Properties"]["LogGroupName"]
        == f"/aws/vendedlogs/states/{stage}-Edge-Publisher"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_publisher_logs_traces_and_alarms_on_failed_executions(synth: Synthesized, stage: str) -> None:
    template = _edge(synth, stage)
    machine_id, machine = _one(template, "AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    alarms = [
        a
        for a in resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        if "ExecutionsFailed" in json.dumps(a["Properties"].get("Metrics", []))
    ]
    assert len(alarms) == 1
    assert machine_id in json.dumps(alarms[0]["Properties"]["Metrics"])
    assert alarms[0]["Properties"]["AlarmActions"]


@pytest.mark.parametrize("stage", STAGES)
def test_publisher_writes_and_deletes_pages_only(synth: Synthesized, stage: str) -> None:
    template = _edge(synth, stage)
    bucket_statements = []
    for role_id in resources_of_type(template, "AWS::IAM::Role"):
        for statement in statements_of_role(template, role_id):
            if CACHE in json.dumps(statement["Resource"]):
                bucket_statements.append(statement)
    assert bucket_statements
    for statement in bucket_statements:
        assert json.dumps(statement["Resource"]).endswith('"/pages/*"]]}'), statement


@pytest.mark.parametrize("stage", STAGES)
def test_the_fetcher_writes_pages_and_reads_nothing_secret(synth: Synthesized, stage: str) -> None:
    """Pages under pages/ and the network interfaces Lambda attaches in the VPC: nothing else."""
    template = _edge(synth, stage)
    (function_id,) = [
        k
        for k, f in resources_of_type(template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "edge_cache.publisher.handler"
    ]
    statements = statements_of_role(template, role_of_function(template, function_id))
    assert actions_on(statements, CACHE) == {
        "s3:PutObject",
        "s3:PutObjectLegalHold",
        "s3:PutObjectRetention",
        "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging",
        "s3:Abort*",
    }
    assert not [s for s in statements if "secretsmanager" in json.dumps(s["Action"])]
    role = template["Resources"][role_of_function(template, function_id)]["Properties"]
    assert json.dumps(role["ManagedPolicyArns"]).count("arn:") == 1
    assert "service-role/AWSLambdaENIManagementAccess" in json.dumps(role["ManagedPolicyArns"])


# Optional features (WAF, certificate and aliases, no origin shield, HTTPS to the load balancer): 'tuned'.


def test_waf_certificate_and_aliases_come_from_config(variants: Synthesized) -> None:
    (dist,) = resources_of_type(variants.templates["tuned/Edge"], "AWS::CloudFront::Distribution").values()
    config = dist["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == EDGE_WEB_ACL
    assert config["Aliases"] == ["news.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": EDGE_CERTIFICATE,
        "MinimumProtocolVersion": "TLSv1.3_2025",  # from edge.minimum_tls_version (TLSv1.2_2021 or newer)
        "SslSupportMethod": "sni-only",
    }
    assert _checkov_skips(dist) & {"CKV_AWS_68", "CKV_AWS_174"} == set()
    (web,) = [o for o in config["Origins"] if "VpcOriginConfig" in o]
    assert "OriginShield" not in web or web["OriginShield"] == {"Enabled": False}


def test_with_a_certificate_cloudfront_and_the_publisher_speak_https_checked_against_its_name(
    variants: Synthesized,
) -> None:
    """The stage's web service serves HTTPS (web.https, web.certificate_arn, web.origin_domain_name): the VPC
    origin is HTTPS-only, CloudFront sends the name the certificate covers as the origin's domain (and checks the
    certificate against it), and the publisher checks it against the same name."""
    template = variants.templates["tuned/Edge"]
    (vpc_origin,) = resources_of_type(template, "AWS::CloudFront::VpcOrigin").values()
    endpoint = vpc_origin["Properties"]["VpcOriginEndpointConfig"]
    assert (endpoint["OriginProtocolPolicy"], endpoint["OriginSSLProtocols"]) == ("https-only", ["TLSv1.2"])
    (dist,) = resources_of_type(template, "AWS::CloudFront::Distribution").values()
    (web,) = [o for o in dist["Properties"]["DistributionConfig"]["Origins"] if "VpcOriginConfig" in o]
    assert web["DomainName"] == WEB_ORIGIN_NAME
    (fetcher,) = [
        f["Properties"]
        for f in resources_of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "edge_cache.publisher.handler"
    ]
    variables = fetcher["Environment"]["Variables"]
    assert variables["ORIGIN_URL"]["Fn::Join"][1][0] == "https://"
    assert variables["ORIGIN_TLS_NAME"] == WEB_ORIGIN_NAME
