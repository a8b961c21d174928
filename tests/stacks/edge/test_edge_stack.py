"""Fine-grained assertions on the edge cache stacks: how pages reach viewers (an origin group, S3 through OAC
then the web origin, with the origin-request function on every page behaviour), where the function runs and
what it may do, what protects the cache bucket, and how the publisher retries and records failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge_cache import keys, origin_request
from stacks.common.readiness.template import refs
from stacks.config import load_stage
from stacks.edge import buckets, distribution
from stacks.edge.publisher import BATCH_BYTES, BATCH_PATHS, BYPASS_PARAM, RETRYABLE_ERRORS
from tests.support.iam import actions_on, role_of_function, statements_of_role, tls_only_policy
from tests.support.synth import Synthesized, resources_of_type
from tests.support.variants import EDGE_CERTIFICATE, EDGE_WEB_ACL

STAGES = ("sandbox", "prod")
CACHE, LOGS = "StorageCacheEC0123D0", "StorageAccessLogs96FB524C"
ORIGIN_SECRET = "OriginAccessSecretFB2E162C"  # in the Web stack
VERIFY_HEADER = "x-origin-verify"
EDGE_HANDLER = "edge_cache.origin_request.handler"


def _edge(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/Edge"]


def _functions(synth: Synthesized, stage: str) -> dict[str, Any]:
    return synth.templates[f"{stage}/EdgeFunctions"]


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


# The edge function: us-east-1, no environment, numbered version, edgelambda trust.


@pytest.mark.parametrize("stage", STAGES)
def test_edge_function_lives_in_us_east_1_and_nowhere_else(synth: Synthesized, stage: str) -> None:
    assert synth.regions[f"{stage}/EdgeFunctions"] == "us-east-1"
    assert synth.regions[f"{stage}/Edge"] == load_stage(stage).region
    functions = resources_of_type(_edge(synth, stage), "AWS::Lambda::Function").values()
    handlers = [f["Properties"].get("Handler") for f in functions]
    assert EDGE_HANDLER not in handlers
    _, function = _one(_functions(synth, stage), "AWS::Lambda::Function")
    assert function["Properties"]["Handler"] == EDGE_HANDLER


@pytest.mark.parametrize("stage", STAGES)
def test_edge_function_has_no_environment_layers_or_arm(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage).edge
    _, function = _one(_functions(synth, stage), "AWS::Lambda::Function")
    props = function["Properties"]
    assert "Environment" not in props and "Layers" not in props
    assert props["Architectures"] == ["x86_64"]
    assert props["Runtime"] == "python3.13"
    assert (props["MemorySize"], props["Timeout"]) == (config.edge_memory_mb, config.edge_timeout_s)
    assert props["MemorySize"] == 128  # make tune's pick (bench/tune.py); origin-facing, so up to 10,240 allowed
    assert props["Timeout"] <= 30


@pytest.mark.parametrize("stage", STAGES)
def test_a_numbered_version_is_associated_as_origin_request(synth: Synthesized, stage: str) -> None:
    functions = _functions(synth, stage)
    version_id, version = _one(functions, "AWS::Lambda::Version")
    function_id, _ = _one(functions, "AWS::Lambda::Function")
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    # The version's ARN is published in us-east-1 and read back by the edge stack at deploy time.
    (parameter,) = [
        p
        for p in resources_of_type(functions, "AWS::SSM::Parameter").values()
        if p["Properties"]["Value"] == {"Ref": version_id}
    ]
    assert parameter["Properties"]["Value"] == {"Ref": version_id}
    reader_id, reader = _one(_edge(synth, stage), "Custom::CrossRegionStringParameterReader")
    assert reader["Properties"]["Region"] == "us-east-1"
    assert reader["Properties"]["ParameterName"] == parameter["Properties"]["Name"]
    expected = [{"EventType": "origin-request", "LambdaFunctionARN": {"Fn::GetAtt": [reader_id, "FunctionArn"]}}]
    config = _distribution(synth, stage)
    page_behaviors = [config["DefaultCacheBehavior"]] + [
        b for b in config["CacheBehaviors"] if b["PathPattern"] != load_stage(stage).edge.assets_path_pattern
    ]
    assert len(page_behaviors) == 1 + len(load_stage(stage).edge.behaviors)
    for behavior in page_behaviors:
        assert behavior["LambdaFunctionAssociations"] == expected


@pytest.mark.parametrize("stage", STAGES)
def test_edge_function_and_versions_are_retained_for_make_destroy_to_delete(synth: Synthesized, stage: str) -> None:
    # CloudFormation cannot delete them while CloudFront holds replicas; tools/cdk_stage deletes them later.
    template = _functions(synth, stage)
    replicated = {
        **resources_of_type(template, "AWS::Lambda::Function"),
        **resources_of_type(template, "AWS::Lambda::Version"),
    }
    assert len(replicated) == 2
    for resource in replicated.values():
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    others = {k: r for k, r in template["Resources"].items() if k not in replicated}
    assert not [k for k, r in others.items() if r.get("DeletionPolicy") == "Retain"]


@pytest.mark.parametrize("stage", STAGES)
def test_edge_role_is_trusted_by_edgelambda_and_may_only_write_its_logs(synth: Synthesized, stage: str) -> None:
    """The function reads nothing (CloudFront reads S3): its role grants log writes and nothing else."""
    functions = _functions(synth, stage)
    (role_id,) = [
        k
        for k, r in resources_of_type(functions, "AWS::IAM::Role").items()
        if "edgelambda.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    role = functions["Resources"][role_id]
    principals = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert set(principals) == {"edgelambda.amazonaws.com", "lambda.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]
    actions = {a for s in statements_of_role(functions, role_id) for a in _listed(s["Action"])}
    assert actions == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", STAGES)
def test_a_replaced_origin_changes_the_edge_template(synth: Synthesized, stage: str) -> None:
    """Fn::GetStackOutput is resolved when the consuming stack is created or updated, and an unchanged template
    does not update: the origin's revision (what would replace the load balancer or its rule) is in the template."""
    revision = synth.facts["origin_revisions"][f"{stage}/Web"]  # the Web stack's origin, as the builder made it
    template = _edge(synth, stage)
    assert '"Fn::GetStackOutput"' in json.dumps(template)  # the Web stack's values arrive this way
    assert _distribution(synth, stage)["Comment"].endswith(f"(origin {revision})")


# Pages: the cache bucket first, the web origin behind it, the function on every page behaviour.


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
    assert "OriginAccessControlId" in primary and "CustomOriginConfig" in fallback
    # A page missing from S3 (403: CloudFront may not list the bucket), S3 errors and its 503 Slow Down go to the
    # web origin; a 404, which only the web origin answers, is not asked twice.
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
    assert BYPASS_PARAM == keys.BYPASS_PARAM  # the parameter the function lets through to S3
    template = _edge(synth, stage)
    for behavior in _page_behaviors(synth, stage):
        assert "OriginRequestPolicyId" not in behavior  # S3 and the web origin see the cache key only
        policy = template["Resources"][behavior["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
        key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
        # Only the publisher's own parameter, which makes its fetches miss every cache.
        assert key["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": [BYPASS_PARAM]}
        assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
        assert key["CookiesConfig"] == {"CookieBehavior": "none"}


def _verify(synth: Synthesized, stage: str) -> dict[str, Any]:
    """The secret the web origin's listener requires: a dynamic reference to the Web stack's secret, resolved by
    CloudFormation at deploy time, so the value is in no template."""
    return {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", _web_output(synth, stage, ORIGIN_SECRET), ":SecretString:::}}"]]
    }


@pytest.mark.parametrize("stage", STAGES)
def test_the_web_origin_is_this_apps_load_balancer_with_its_secret_only(synth: Synthesized, stage: str) -> None:
    config = load_stage(stage)
    _, web = _group_members(synth, stage)
    reference = web["DomainName"]["Fn::GetStackOutput"]  # a weak cross-stack reference (see cdk.json)
    assert reference["StackName"] == f"{stage}-Web" and "LoadBalancer" in reference["OutputName"]
    protocol = "https-only" if config.web.https else "http-only"
    assert web["CustomOriginConfig"] == {
        "OriginProtocolPolicy": protocol,
        "OriginSSLProtocols": list(origin_request.WEB_SSL_PROTOCOLS),
        # The timeouts the function repeats when it sends a request there itself.
        "OriginReadTimeout": origin_request.WEB_READ_TIMEOUT_S,
        "OriginKeepaliveTimeout": origin_request.WEB_KEEPALIVE_TIMEOUT_S,
    }
    assert _headers(web) == {
        VERIFY_HEADER: _verify(synth, stage),
        distribution.PUBLISH_KEY_HEADER: _publish_key(synth, stage),
    }


def _publish_key(synth: Synthesized, stage: str) -> Any:
    """The publish key as a dynamic reference to the Edge stack's own secret (resolved at deploy)."""
    (secret_id,) = [
        k
        for k, r in resources_of_type(_edge(synth, stage), "AWS::SecretsManager::Secret").items()
        if "signs its fetches" in r["Properties"]["Description"]
    ]
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]}


@pytest.mark.parametrize("stage", STAGES)
def test_the_bucket_origin_carries_the_web_origin_for_the_function(synth: Synthesized, stage: str) -> None:
    """Lambda@Edge has no environment: the function reads where the web origin is from these headers (and
    removes them, tests/lambda/edge_cache/test_edge_origin_request.py)."""
    primary, web = _group_members(synth, stage)
    assert _headers(primary) == {
        distribution.WEB_DOMAIN_HEADER: web["DomainName"],
        distribution.WEB_PROTOCOL_HEADER: "https" if load_stage(stage).web.https else "http",
        # The secret's rotation rewrites every origin that carries the header (lambda/origin_secret).
        VERIFY_HEADER: _verify(synth, stage),
        distribution.PUBLISH_KEY_HEADER: _publish_key(synth, stage),
    }
    assert set(origin_request.CONFIG_HEADERS) == {
        distribution.WEB_DOMAIN_HEADER,
        distribution.WEB_PROTOCOL_HEADER,
        distribution.PUBLISH_KEY_HEADER,
    }
    assert all(name.startswith(origin_request.CONFIG_PREFIX) for name in origin_request.CONFIG_HEADERS)
    assert not VERIFY_HEADER.startswith(origin_request.CONFIG_PREFIX)  # it travels on to the web origin


@pytest.mark.parametrize("stage", STAGES)
def test_no_origin_carries_a_header_cloudfront_refuses(synth: Synthesized, stage: str) -> None:
    """CloudFront refuses custom origin headers named X-Amz-*, X-Edge-* and a fixed list (Developer Guide,
    "Custom headers that CloudFront can't add to origin requests"): the distribution would not deploy."""
    refused = {"cache-control", "connection", "content-length", "cookie", "host", "via", "x-real-ip", "range"}
    for origin in _distribution(synth, stage)["Origins"]:
        for name in _headers(origin):
            assert not name.lower().startswith(("x-amz-", "x-edge-")) and name.lower() not in refused, name


def _web_output(synth: Synthesized, stage: str, logical_id: str) -> dict[str, Any]:
    """The weak cross-stack reference (Fn::GetStackOutput) CDK writes for a Ref to a Web stack resource."""
    outputs = synth.templates[f"{stage}/Web"]["Outputs"]
    (name,) = [n for n in outputs if n.startswith(f"PublishOutputRef{logical_id}")]
    return {"Fn::GetStackOutput": {"StackName": f"{stage}-Web", "Region": "eu-west-1", "OutputName": name}}


def test_origin_shield_covers_both_page_origins_in_prod_outside_the_stage_region(synth: Synthesized) -> None:
    """The function runs in the shield's region, whose Lambda concurrency it shares with the account's functions
    there: prod keeps it out of the stage region, where the chat API runs (bench/capacity.py)."""

    def shields(stage: str) -> list[Any]:
        return [origin.get("OriginShield") for origin in _group_members(synth, stage)]

    region = load_stage("prod").edge.origin_shield_region
    assert region is not None and region != load_stage("prod").region
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
    s3_origins = [o for o in _distribution(synth, stage)["Origins"] if "CustomOriginConfig" not in o]
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
    functions, edge = _functions(synth, "prod"), _edge(synth, "prod")
    acl_id, acl = _one(functions, "AWS::WAFv2::WebACL")
    props = acl["Properties"]
    assert props["Scope"] == "CLOUDFRONT" and synth.regions["prod/EdgeFunctions"] == "us-east-1"
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
    assert resources_of_type(_functions(synth, "sandbox"), "AWS::WAFv2::WebACL") == {}
    assert "WebACLId" not in _distribution(synth, "sandbox")
    _, distribution = _one(_edge(synth, "sandbox"), "AWS::CloudFront::Distribution")
    assert {"CKV_AWS_68", "CKV_AWS_174"} <= _checkov_skips(distribution)
    _, distribution = _one(_edge(synth, "prod"), "AWS::CloudFront::Distribution")
    assert "CKV_AWS_68" not in _checkov_skips(distribution)  # prod has its web ACL: nothing to skip


def test_prod_rotates_the_origin_secret_without_rewriting_the_distribution_at_deploy(synth: Synthesized) -> None:
    edge = _edge(synth, "prod")
    _, schedule = _one(edge, "AWS::SecretsManager::RotationSchedule")
    props = schedule["Properties"]
    assert props["SecretId"] == _web_output(synth, "prod", ORIGIN_SECRET)
    assert props["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    assert props["RotateImmediatelyOnUpdate"] is False
    function_id = props["RotationLambdaARN"]["Fn::GetAtt"][0]
    function = edge["Resources"][function_id]["Properties"]
    assert function["Handler"] == "origin_secret.handler.handler"
    distribution_id, _ = _one(edge, "AWS::CloudFront::Distribution")
    env = function["Environment"]["Variables"]
    assert env["HEADER_NAME"] == VERIFY_HEADER and env["DISTRIBUTION_ID"] == {"Ref": distribution_id}
    assert env["LISTENER_RULE_ARN"] == _web_output(synth, "prod", "LoadBalancerFromCloudFront")
    # It may change this distribution and this listener rule, nothing else.
    statements = statements_of_role(edge, role_of_function(edge, function_id))
    assert actions_on(statements, distribution_id) == {
        "cloudfront:GetDistributionConfig",
        "cloudfront:UpdateDistribution",
    }
    (modify,) = [s for s in statements if s["Action"] == "elasticloadbalancing:ModifyRule"]
    assert modify["Resource"] == env["LISTENER_RULE_ARN"]
    assert resources_of_type(_edge(synth, "sandbox"), "AWS::SecretsManager::RotationSchedule") == {}


@pytest.mark.parametrize("stage", STAGES)
def test_the_publisher_fetches_through_the_distribution(synth: Synthesized, stage: str) -> None:
    """The web origin admits only CloudFront, so the publisher goes through it (past both caches)."""
    edge = _edge(synth, stage)
    distribution_id, _ = _one(edge, "AWS::CloudFront::Distribution")
    (fetcher,) = [
        f["Properties"]
        for f in resources_of_type(edge, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "edge_cache.publisher.handler"
    ]
    assert fetcher["Environment"]["Variables"]["ORIGIN_URL"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]
    }
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
def test_edge_log_groups_have_retention_in_the_regions_we_can_name(synth: Synthesized, stage: str) -> None:
    days = load_stage(stage).edge.log_retention_days
    function_id, _ = _one(_functions(synth, stage), "AWS::Lambda::Function")
    names = {
        json.dumps(g["Properties"]["LogGroupName"]): g["Properties"]["RetentionInDays"]
        for g in resources_of_type(_functions(synth, stage), "AWS::Logs::LogGroup").values()
    }
    assert names == {
        json.dumps({"Fn::Join": ["", ["/aws/lambda/", {"Ref": function_id}]]}): days,
        json.dumps({"Fn::Join": ["", ["/aws/lambda/us-east-1.", {"Ref": function_id}]]}): days,
    }
    regional = [
        g
        for g in resources_of_type(_edge(synth, stage), "AWS::Logs::LogGroup").values()
        if "/aws/lambda/us-east-1." in json.dumps(g["Properties"].get("LogGroupName", ""))
    ]
    assert len(regional) == 1 and regional[0]["Properties"]["RetentionInDays"] == days


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
def test_the_fetcher_writes_pages_and_reads_the_publish_key_only(synth: Synthesized, stage: str) -> None:
    """It takes no copy out of the bucket any more (its signed fetch goes straight to the web origin)."""
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
    env = resources_of_type(template, "AWS::Lambda::Function")[function_id]["Properties"]["Environment"]["Variables"]
    secret = env["PUBLISH_KEY_SECRET_ARN"]["Ref"]
    assert actions_on(statements, secret) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


# Optional features (WAF, certificate and aliases, no origin shield): the 'tuned' variant stage.


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
    (web,) = [o for o in config["Origins"] if "CustomOriginConfig" in o]
    assert "OriginShield" not in web or web["OriginShield"] == {"Enabled": False}
    # The stage's web service serves HTTPS there, so CloudFront reaches it over HTTPS only.
    assert web["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
