"""SnapStartAsDocumented: each function below turns SnapStart on in one way Lambda does not apply it, and one
(the chat API's wiring: a published version, an alias, API Gateway on the alias) in the way it does."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack, Stage
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from tests.support.readiness import Findings, findings_fixture, stage_stack

STACK = "prod/SnapStart"
RULE = "SnapStartAsDocumented"


def _function(scope: Construct, *, snap_start: bool = True) -> lambda_.Function:
    return lambda_.Function(
        scope,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_13,
        architecture=lambda_.Architecture.ARM_64,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
    )


def _api(scope: Construct, target: lambda_.IFunction) -> None:
    api = apigw.RestApi(scope, "Api", deploy_options=apigw.StageOptions(stage_name="v1"))
    api.root.add_method("GET", apigw.LambdaIntegration(target, allow_test_invoke=False))


def _case(stack: Stack, name: str) -> Construct:
    return Construct(stack, name)


def _build_invocation_cases(stack: Stack) -> None:
    scope = _case(stack, "Alias")  # as the chat API does it
    function = _function(scope)
    _api(scope, lambda_.Alias(scope, "Live", alias_name="live", version=function.current_version))

    scope = _case(stack, "Unqualified")  # published, but API Gateway calls $LATEST
    function = _function(scope)
    lambda_.Alias(scope, "Live", alias_name="live", version=function.current_version)
    _api(scope, function)

    scope = _case(stack, "QueueOnLatest")  # an event source mapping on the function itself
    function = _function(scope)
    function.current_version  # noqa: B018 - publishes a version
    function.add_event_source(sources.SqsEventSource(sqs.Queue(scope, "Queue")))

    scope = _case(stack, "Unpublished")  # nothing publishes a version: SnapStart never applies
    _api(scope, _function(scope))

    scope = _case(stack, "Provisioned")
    function = _function(scope)
    alias = lambda_.Alias(
        scope, "Live", alias_name="live", version=function.current_version, provisioned_concurrent_executions=2
    )
    _api(scope, alias)


def _build_function_cases(stack: Stack) -> None:
    # CDK refuses these three at the L2 level; an L1 override (or another tool) writes them all the same.
    for name, override in (
        ("NodeRuntime", ("Runtime", "nodejs22.x")),
        ("BigTmp", ("EphemeralStorage", {"Size": 1024})),
        ("Efs", ("FileSystemConfigs", [{"Arn": "arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-1"}])),
    ):
        scope = _case(stack, name)
        function = _function(scope)
        _api(scope, lambda_.Alias(scope, "Live", alias_name="live", version=function.current_version))
        cfn = function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.add_property_override(*override)
    # CDK lets SnapStart through for a container image; Lambda does not.
    scope = _case(stack, "Image")
    image = lambda_.DockerImageFunction(
        scope,
        "Handler",
        code=lambda_.DockerImageCode.from_ecr(ecr.Repository.from_repository_name(scope, "Repo", "app")),
        snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
    )
    _api(scope, lambda_.Alias(scope, "Live", alias_name="live", version=image.current_version))


def _build(app: object) -> None:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "SnapStart")
    _build_invocation_cases(stack)
    _build_function_cases(stack)
    taipei = Stack(Stage(app, "taipei", env=Environment(region="ap-east-2")), "SnapStart")
    function = _function(taipei)
    _api(taipei, lambda_.Alias(taipei, "Live", alias_name="live", version=function.current_version))
    off = _case(stack, "Off")  # no SnapStart: invoking $LATEST is fine
    _api(off, _function(off, snap_start=False))


findings = findings_fixture(_build)


def _kinds(findings: Findings, case: str) -> set[str]:
    return {token.split(":")[0] for token in findings.rule_of(f"{STACK}/{case}", RULE)}


def test_an_api_on_an_alias_of_a_published_version_passes(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Alias", RULE) == set()
    assert findings.rule_of(f"{STACK}/Off", RULE) == set()


def test_an_api_or_a_permission_on_the_unqualified_function_is_flagged(findings: Findings) -> None:
    tokens = findings.rule_of(f"{STACK}/Unqualified", RULE)
    invokers = {token.split(":")[1][: len("UnqualifiedApiGET")] for token in tokens}
    assert _kinds(findings, "Unqualified") == {"Unqualified"}
    assert invokers == {"UnqualifiedApiGET"}  # the method and its invoke permission
    assert len(tokens) == 2


def test_an_event_source_mapping_on_the_unqualified_function_is_flagged(findings: Findings) -> None:
    (token,) = findings.rule_of(f"{STACK}/QueueOnLatest", RULE)
    assert token.startswith("Unqualified:QueueOnLatestHandlerSqsEventSource")


def test_a_function_that_publishes_no_version_is_flagged(findings: Findings) -> None:
    assert _kinds(findings, "Unpublished") == {"NoPublishedVersion", "Unqualified"}


def test_provisioned_concurrency_is_flagged(findings: Findings) -> None:
    assert _kinds(findings, "Provisioned") == {"ProvisionedConcurrency"}


def test_an_unsupported_runtime_storage_file_system_or_image_is_flagged(findings: Findings) -> None:
    assert _kinds(findings, "NodeRuntime") == {"Runtime"}
    assert _kinds(findings, "BigTmp") == {"EphemeralStorage"}
    assert _kinds(findings, "Efs") == {"FileSystem"}
    assert _kinds(findings, "Image") == {"Runtime"}


def test_a_region_without_snapstart_is_flagged(findings: Findings) -> None:
    assert findings.rule_of("taipei/SnapStart", RULE) == {"Region"}
