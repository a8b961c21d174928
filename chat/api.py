"""The public REST API and the Lambda function behind it."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from chat.config import METRICS_NAMESPACE, ChatConfig
from chat.data import ROOM_POSITION_INDEX, ROOM_TIME_INDEX, ChatData
from quality.declare import acknowledge, skip_check
from shared.policies import log_group
from shared.python_function import PythonFunction, bundle_constants
from shared.secrets import generated_key
from shared.waf import managed_rules_web_acl

API_STAGE = "v1"
LIVE_ALIAS = "live"

# The handler's request limits (chat/runtime/chat_api/chat_api/limits.py, read from there, not copied): the gateway
# refuses a body over them before the function runs, whatever its size up to API Gateway's 10 MB. Patterns stay
# in the handler: Python's \w matches letters of every script, a Java-style regex engine's only ASCII ones.
LIMITS = bundle_constants("chat_api", "chat_api", "limits")
_NEW_COMMENT_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    type=apigw.JsonSchemaType.OBJECT,
    required=["name", "comment", "position"],
    additional_properties=False,
    properties={
        "name": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=LIMITS.NAME_MAX_LENGTH),
        "comment": apigw.JsonSchema(
            type=apigw.JsonSchemaType.STRING, min_length=1, max_length=LIMITS.COMMENT_MAX_LENGTH
        ),
        "position": apigw.JsonSchema(type=apigw.JsonSchemaType.NUMBER, minimum=0, maximum=LIMITS.MAX_POSITION),
    },
)
# messageString is the message already quoted as a JSON string, so it goes in unquoted.
_ERROR_TEMPLATE = {"application/json": '{"message": $context.error.messageString}'}
_LIST_QUERY = ("limit", "cursor", "all", "from", "to")
_ACCESS_LOG_FORMAT = apigw.AccessLogFormat.json_with_standard_fields(
    caller=False,
    http_method=True,
    ip=True,
    protocol=True,
    request_time=True,
    resource_path=True,
    response_length=True,
    status=True,
    user=False,
)


class ChatApi(Construct):
    """API Gateway REST API -> one Lambda function (Powertools REST resolver) for every route."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: ChatConfig,
        data: ChatData,
        layers: list[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        self.cursor_secret = self._build_cursor_secret()
        self.handler = self._build_handler(config, data, layers)
        # The API invokes this alias of the version the deploy published, in every stage: SnapStart (a stage
        # setting) snapshots published versions only, and the sandbox and its end-to-end run test that wiring.
        self.alias = lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.handler.current_version)
        self.access_logs = log_group(self, "AccessLogs", retention_days=config.log_retention_days)
        self.api = self._build_api(config, name=f"{Stack.of(self).stack_name}-{construct_id}")
        self._build_execution_logs(config)
        self._build_routes()
        if config.waf_enabled:
            self._build_waf(config)
        self._acknowledge(config)

    def _build_cursor_secret(self) -> secretsmanager.Secret:
        """Signs pagination cursors so clients cannot forge or alter them."""
        return generated_key(
            self,
            "CursorKey",
            description="HMAC key for chat API pagination cursors",
            length=64,
            unrotated_because="The key only signs short-lived pagination cursors; rotating it would just end open "
            "pagings early.",
        )

    def _build_handler(
        self, config: ChatConfig, data: ChatData, layers: list[lambda_.ILayerVersion]
    ) -> lambda_.Function:
        handler = PythonFunction(
            self,
            "Handler",
            bundle="chat_api",
            handler="chat_api.handler.handler",
            description="Chat comments REST API",
            layers=layers,
            memory_mb=config.lambda_memory_mb,
            timeout_s=config.lambda_timeout_s,
            reserved_concurrency=config.reserved_concurrency,
            log_retention_days=config.log_retention_days,
            snap_start=config.snap_start,
            environment={
                "POWERTOOLS_SERVICE_NAME": "chat-api",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "COMMENTS_TABLE": data.comments.table_name,
                "ROOM_TIME_INDEX": ROOM_TIME_INDEX,
                "ROOM_POSITION_INDEX": ROOM_POSITION_INDEX,
                "STATS_TABLE": data.room_stats.table_name,
                "IDEMPOTENCY_TABLE": data.idempotency.table_name,
                "IDEMPOTENCY_TTL_S": str(config.idempotency_ttl_s),
                "CURSOR_SECRET_ARN": self.cursor_secret.secret_arn,
                "CORS_ALLOW_ORIGINS": ",".join(config.cors_allow_origins),
                "ROOM_SHARDS": str(config.room_shards),
                "VIEW_MAX_LAG_MS": str(config.view_max_lag_s * 1000),
            },
        ).function
        # Powertools' SecretsProvider calls GetSecretValue only; grant_read would add DescribeSecret.
        iam.Grant.add_to_principal(
            grantee=handler,
            actions=["secretsmanager:GetSecretValue"],
            resource_arns=[self.cursor_secret.secret_arn],
        )
        return handler

    def _build_api(self, config: ChatConfig, *, name: str) -> apigw.RestApi:
        """The REST API, its stage (throttles, logs, tracing) and JSON error responses."""
        logging_level = apigw.MethodLoggingLevel(config.execution_log_level)
        cors = (
            apigw.CorsOptions(
                allow_origins=list(config.cors_allow_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Content-Type", "Idempotency-Key"],
                max_age=Duration.hours(1),
            )
            if config.cors_allow_origins
            else None
        )
        return apigw.RestApi(
            self,
            "Api",
            # Alarms select the API by name (the ApiName dimension), so each stage's API has its own.
            rest_api_name=name,
            description="Comments on video chat rooms",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logs need the account-level role. It is kept on delete (the default): the setting is
            # per account and region, so another stage or app in the same account may rely on it.
            cloud_watch_role=True,
            default_cors_preflight_options=cors,
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=logging_level,
                data_trace_enabled=False,  # would log request bodies (user comments)
                throttling_rate_limit=config.throttle_rate_limit,
                throttling_burst_limit=config.throttle_burst_limit,
                # A method's setting replaces the stage-wide one, so it repeats logging and metrics.
                method_options={
                    "/rooms/{room}/comments/POST": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=config.post_rate_limit,
                        throttling_burst_limit=config.post_burst_limit,
                        metrics_enabled=True,
                        logging_level=logging_level,
                        data_trace_enabled=False,
                    )
                },
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=_ACCESS_LOG_FORMAT,
            ),
        )

    def _build_routes(self) -> None:
        """JSON error responses, request validation and the routes, every one on the live alias."""
        for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            self.api.add_gateway_response(
                f"Json{response_type.response_type}", type=response_type, templates=_ERROR_TEMPLATE
            )
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        new_comment = self.api.add_model("NewComment", content_type="application/json", schema=_NEW_COMMENT_SCHEMA)
        integration = apigw.LambdaIntegration(self.alias, allow_test_invoke=False)
        room_comments = self.api.root.add_resource("rooms").add_resource("{room}").add_resource("comments")
        room_comments.add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={f"method.request.querystring.{q}": False for q in _LIST_QUERY},
        )
        room_comments.add_method(
            "POST",
            integration,
            request_validator=validator,
            request_models={"application/json": new_comment},
            request_parameters={"method.request.header.Idempotency-Key": False},
        )
        room_comments.parent_resource.add_resource("stats").add_method(  # type: ignore[union-attr]
            "GET", integration, request_validator=validator
        )
        self.api.root.add_resource("users").add_resource("{name}").add_resource("comments").add_method(
            "GET",
            integration,
            request_validator=validator,
            request_parameters={f"method.request.querystring.{q}": False for q in ("limit", "cursor")},
        )

    def _build_execution_logs(self, config: ChatConfig) -> None:
        """The group API Gateway writes execution logs to, created first: it has a retention and goes with the stack."""
        if config.execution_log_level == "OFF":
            return
        group = log_group(
            self,
            "ExecutionLogs",
            retention_days=config.log_retention_days,
            log_group_name=f"API-Gateway-Execution-Logs_{self.api.rest_api_id}/{API_STAGE}",
        )
        self.api.deployment_stage.node.add_dependency(group)

    def _build_waf(self, config: ChatConfig) -> None:
        acl = managed_rules_web_acl(
            self,
            "WebAcl",
            acl_scope="REGIONAL",
            metric_name="chat-api",
            rate_limit_per_5min=config.waf_rate_limit_per_5min,
        )
        wafv2.CfnWebACLAssociation(
            self, "WebAclAssociation", resource_arn=self.api.deployment_stage.stage_arn, web_acl_arn=acl.attr_arn
        )

    def _acknowledge(self, config: ChatConfig) -> None:
        """What cdk-nag and checkov flag here on purpose, and why."""
        if not config.waf_enabled:
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG3",
                "Sandbox stage skips WAF to stay cheap and disposable; prod attaches a managed-rules web ACL.",
            )
        for method in self.api.methods:
            skip_check(method, "CKV_AWS_59", "Public chat demo API: anyone may read and post (cdk-nag APIG4/COG4).")
        skip_check(
            self.api.deployment_stage,
            "CKV_AWS_120",
            "Comments change with every post and reads are keyed by cursor: a stage cache would serve stale pages.",
        )
        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            acknowledge(
                self.api,
                rule,
                "Public chat demo API: anyone may read and post; put an authorizer here before real users.",
            )
        acknowledge(
            self.api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level API Gateway logging role uses the AWS managed policy made for exactly this.",
        )
        for account_level in ("CloudWatchRole", "Account"):
            acknowledge(
                self.api.node.find_child(account_level),
                "DeployReadiness-DisposableStageLeftover[Retained]",
                "API Gateway's logging role is one setting per account and region that other APIs may rely on; "
                "it stays when the stage goes (delete it in the console once no API logs).",
            )
