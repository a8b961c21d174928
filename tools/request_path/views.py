"""The request path of each architecture, the way people draw it, as nodes over the synthesized constructs.

A node names constructs by the prefix CloudFormation gives their resources' logical ids (the construct path;
logical ids are pinned, so these do not drift). Links are drawn only where the templates reference one end
from the other. Deploy-time helpers (custom-resource handlers, image builds), logs and alarms are not on the
request path; each resource type a view checks must be drawn or named in `ignored` with the reason.
"""

from __future__ import annotations

from tools.request_path import facts
from tools.request_path.model import Link, Node, View

_CUSTOM_RESOURCE = "deploy time: the handler of a CDK custom resource"

CHAT = View(
    name="chat",
    stacks=("Chat",),
    nodes=(
        Node("client", "client", shape="party"),
        Node("waf", "AWS WAF web ACL", ("Chat/CommentsWebAcl",), facts.web_acl),
        Node("api", "API Gateway REST API", ("Chat/CommentsApi",), facts.rest_api),
        Node("alias", "Lambda alias", ("Chat/CommentsLive",), facts.alias),
        Node("handler", "Lambda: chat API handler", ("Chat/CommentsHandler",), facts.function),
        Node("comments", "DynamoDB: comments", ("Chat/DataComments",), facts.table, "store"),
        Node("stats", "DynamoDB: room stats, latest 25", ("Chat/DataRoomStats",), facts.table, "store"),
        Node("idempotency", "DynamoDB: idempotency", ("Chat/DataIdempotency",), facts.table, "store"),
        Node("cursor", "Secrets Manager: cursor signing key", ("Chat/CommentsCursorKey",)),
        Node("consumer", "Lambda: stream consumer", ("Chat/RoomStatsHandler",), facts.stream_consumer),
        Node("failed", "SQS: failed stream batches", ("Chat/RoomStatsDeadLetters",), shape="store"),
    ),
    links=(
        Link("client", "api", "HTTPS"),
        Link("waf", "api", "filters", dotted=True),
        Link("api", "alias", "proxy integration"),
        Link("alias", "handler", "published version"),
        Link("handler", "comments", "put, query a GSI"),
        Link("handler", "stats", "counts, latest view"),
        Link("handler", "idempotency"),
        Link("handler", "cursor", "at first use"),
        Link("comments", "consumer", "stream"),
        Link("consumer", "stats", "count, keep latest"),
        Link("consumer", "failed", "on failure", dotted=True),
    ),
    checked_types=frozenset(
        {
            "AWS::ApiGateway::RestApi",
            "AWS::DynamoDB::Table",
            "AWS::Lambda::Alias",
            "AWS::Lambda::Function",
            "AWS::SecretsManager::Secret",
            "AWS::SQS::Queue",
            "AWS::WAFv2::WebACL",
        }
    ),
)

WEB = View(
    name="web",
    stacks=("Web",),
    nodes=(
        Node("cloudfront", "CloudFront VPC origin (edge stack)", ("Web/OriginAccess",), shape="party"),
        Node("publisher", "edge cache publisher (edge stack)", ("Web/LoadBalancerFetchers",), shape="party"),
        Node("alb", "Application Load Balancer", ("Web/LoadBalancer",), facts.load_balancer),
        Node("service", "ECS service: web app", ("Web/App",), facts.ecs_service),
        Node("credentials", "Secrets Manager: the app's database role", ("Web/DatabaseAppRoleSecret",), facts.secret),
        Node(
            "database",
            "Aurora PostgreSQL",
            ("Web/DatabaseCluster", "Web/DatabaseSecurityGroup"),
            facts.aurora,
            "store",
        ),
    ),
    links=(
        Link("cloudfront", "alb", "origin-facing prefix list"),
        Link("publisher", "alb", "fetches pages", dotted=True),
        Link("alb", "service", "target group"),
        Link("service", "credentials", "at task start"),
        Link("service", "database", "SQL over TLS"),
    ),
    checked_types=frozenset(
        {
            "AWS::ECS::Service",
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "AWS::Lambda::Function",
            "AWS::RDS::DBCluster",
            "AWS::SecretsManager::Secret",
        }
    ),
    ignored=(
        ("Web/AWS679f53fac002430cb0da5b7982bd2287", _CUSTOM_RESOURCE),
        ("Web/CustomS3AutoDeleteObjects", _CUSTOM_RESOURCE),
        ("Web/CustomVpcRestrictDefaultSG", _CUSTOM_RESOURCE),
        ("Web/DeployTimeBuild", _CUSTOM_RESOURCE),
        ("Web/DatabaseAppRoleFunction", "deploy time: creates the app's database role"),
        ("Web/DatabaseAppRoleProvider", _CUSTOM_RESOURCE),
        ("Web/DatabaseSecret", "the master credentials: the app signs in with its own role"),
    ),
)

EDGE = View(
    name="edge",
    stacks=("Edge", "EdgeFunctions"),
    nodes=(
        Node("viewer", "viewer", shape="party"),
        Node("waf", "AWS WAF web ACL (us-east-1)", ("EdgeFunctions/WebAcl", "Edge/WafArnReader"), facts.web_acl),
        Node("cdn", "CloudFront distribution", ("Edge/Cdn",), facts.distribution),
        Node("cache", "S3: cache bucket", ("Edge/StorageCache",), shape="store"),
        Node("origin", "CloudFront VPC origin", ("Edge/CdnWeb",), facts.vpc_origin),
        Node(
            "alb",
            "internal ALB (web stack)",
            ("Web/LoadBalancerAlb", "Web/LoadBalancerService"),
            facts.load_balancer,
        ),
        Node("service", "ECS web service (web stack)", ("Web/AppService",)),
        Node("request", "publish request: paths", shape="party"),
        Node("publisher", "Step Functions: publisher", ("Edge/PublisherStateMachine",), facts.state_machine),
        Node("fetch", "Lambda: fetch and store", ("Edge/PublisherFetchAndStore",), facts.function),
    ),
    links=(
        Link("viewer", "cdn", "HTTPS"),
        Link("waf", "cdn", "filters", dotted=True),
        Link("cdn", "cache", "1: pages, assets"),
        Link("cdn", "origin", "2: on a miss or S3 error"),
        Link("origin", "alb", "inside AWS's network"),
        Link("alb", "service", "target group"),
        Link("request", "publisher", "StartExecution"),
        Link("publisher", "fetch", "each path"),
        Link("fetch", "alb", "GET the page"),
        Link("fetch", "cache", "put the page"),
        Link("publisher", "cache", "delete a page gone at the origin"),
        Link("publisher", "cdn", "invalidate each batch", dotted=True),
    ),
    checked_types=frozenset(
        {
            "AWS::CloudFront::Distribution",
            "AWS::CloudFront::VpcOrigin",
            "AWS::Lambda::Function",
            "AWS::S3::Bucket",
            "AWS::StepFunctions::StateMachine",
            "AWS::WAFv2::WebACL",
        }
    ),
    ignored=(
        ("Edge/AWS679f53fac002430cb0da5b7982bd2287", _CUSTOM_RESOURCE),
        ("Edge/CustomS3AutoDeleteObjects", _CUSTOM_RESOURCE),
        ("Edge/StorageAccessLogs", "CloudFront's access logs"),
    ),
)

DEPLOY = View(
    name="deploy",
    stacks=("GitHubDeploy",),
    nodes=(
        Node("job", "GitHub Actions job", shape="party"),
        Node("provider", "IAM OIDC provider", ("GitHubDeploy/AccessProvider",), facts.oidc_provider),
        Node("deploy", "IAM role: deploy", ("GitHubDeploy/AccessDeployRole",), facts.github_role),
        Node("diff", "IAM role: pull-request diff", ("GitHubDeploy/AccessDiffRole",), facts.github_role),
        Node("bootstrap", "CDK bootstrap roles of the stage", shape="party"),
        Node("stacks", "CloudFormation: the stage's stacks", shape="party"),
    ),
    links=(
        Link("job", "provider", "OIDC token"),
        Link("provider", "deploy", "AssumeRoleWithWebIdentity"),
        Link("provider", "diff", "AssumeRoleWithWebIdentity"),
        Link("deploy", "bootstrap", "sts:AssumeRole"),
        Link("bootstrap", "stacks", "cdk deploy"),
        Link("diff", "stacks", "cdk diff --method=template"),
    ),
    checked_types=frozenset({"AWS::IAM::OIDCProvider", "AWS::IAM::Role"}),
)

VIEWS = {view.name: view for view in (CHAT, WEB, EDGE, DEPLOY)}
