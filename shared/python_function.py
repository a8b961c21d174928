"""Python Lambda functions packaged without Docker, with the official Powertools layer."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from quality.declare import acknowledge
from shared.bundles import bundle_dir
from shared.origin import OriginFetchAccess
from shared.policies import log_group

# Keep in step with aws-lambda-powertools in requirements-dev.txt: tests run the handlers with that
# release and the functions run with this layer (a test checks the two agree).
POWERTOOLS_VERSION = "3.37.0"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
_ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "tests", "*.md"]


def bundle_code(bundle: str) -> lambda_.Code:
    """The folder `<architecture>/runtime/<bundle>` as a zip asset: plain files, no Docker, no install step."""
    path = bundle_dir(bundle)
    if not path.is_dir():
        raise ValueError(f"Lambda bundle folder {path} does not exist")
    return lambda_.Code.from_asset(str(path), exclude=_ASSET_EXCLUDES)


def bundle_constants(bundle: str, package: str, module: str) -> ModuleType:
    """`<architecture>/runtime/<bundle>/<package>/<module>.py` loaded by path: a standard-library-only module of
    constants that a construct shares with its handler, so both read one copy (a bundle cannot import the stacks)."""
    path = bundle_dir(bundle) / package / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"_bundle_{bundle}_{module}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"no module at {path}")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def powertools_layer(scope: Construct, construct_id: str) -> lambda_.ILayerVersion:
    """The Powertools layer of POWERTOOLS_VERSION for this stack's region, resolved at deploy time.

    AWS publishes each release's layer ARN as a public SSM parameter, so synth needs no lookup and the
    template stays region-agnostic. The v3 layer carries pydantic v2 and the X-Ray SDK.
    """
    arn = ssm.StringParameter.value_for_string_parameter(
        scope, f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{POWERTOOLS_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, construct_id, arn)


class PythonFunction(Construct):
    """A Lambda function from `<architecture>/runtime/<bundle>` with tracing, JSON logs and a log group it owns."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bundle: str,
        handler: str,
        description: str,
        environment: dict[str, str],
        log_retention_days: int,
        layers: list[lambda_.ILayerVersion],
        memory_mb: int = 512,
        timeout_s: int = 10,
        reserved_concurrency: int | None = None,
        log_level: str = "INFO",
        snap_start: bool = False,
        placement: OriginFetchAccess | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", retention_days=log_retention_days)
        # Own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group only.
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=bundle_code(bundle),
            handler=handler,
            description=description,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            layers=layers,
            role=self.role,
            log_group=self.log_group,
            # SnapStart snapshots each published version at publish time; invokers must call a version or an
            # alias of one (quality/readiness/snapstart.py checks the rules).
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            # A version the alias has left serves nothing: it goes when the next one replaces it (kept, each
            # version of a SnapStart function would keep a cached snapshot, which Python functions pay for).
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(log_level),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment={
                "POWERTOOLS_LOG_LEVEL": log_level,
                **environment,
            },
            vpc=placement.vpc if placement else None,
            vpc_subnets=placement.subnets if placement else None,
            security_groups=[placement.security_group] if placement else None,
        )
        if placement:
            self._allow_network_interfaces()
        self._acknowledge(snap_start=snap_start, placed=placement is not None)

    def _allow_network_interfaces(self) -> None:
        """What Lambda needs to attach the function to its subnets (a role of our own gets none of it)."""
        self.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaENIManagementAccess")
        )

    def _acknowledge(self, *, snap_start: bool, placed: bool) -> None:
        """What cdk-nag and CDK flag here on purpose, and why."""
        if placed:
            acknowledge(
                self.role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaENIManagementAccess]",
                "The AWS-maintained policy for the network interfaces Lambda creates in the function's subnets "
                "(ec2:CreateNetworkInterface and its kin, which take no narrower resource before the interface "
                "exists).",
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "On '*' only actions that take no resource: X-Ray's (and a stream consumer's dynamodb:ListStreams); "
            "tests/test_security_properties.py checks each.",
        )
        if snap_start:
            Annotations.of(self.function).acknowledge_warning(
                "@aws-cdk/aws-lambda:snapStartRequirePublish",
                "The caller publishes current_version and invokes it; DeployReadiness-SnapStartAsDocumented checks.",
            )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            f"Pinned to {RUNTIME.name}, the interpreter the handler tests run on; upgrade both together.",
        )
