"""The handler tests' harness gives each function what its synthesized template and Lambda give it, and nothing
else: the environment, the packages, the role's permissions. Each test here fails when the harness adds to
or leaves out what deploys."""

from __future__ import annotations

import copy
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.support import lambda_packages
from tests.support.chat_backend import API_HANDLER, STATS, STREAM_HANDLER, ChatBackend
from tests.support.lambda_environment import LAMBDA_DEFINED, TRANSPORT_PREFIX, DeployedFunction
from tests.support.lambda_worker import FunctionFailed, LambdaWorker
from tests.support.role_policy import Permission, RolePolicy

# What the interpreter itself adds to its environment: with LANG's locale missing on this machine, Python
# coerces the C locale and sets LC_CTYPE (PEP 538, "Coercing the legacy C locale to a UTF-8 based locale").
INTERPRETER_ADDED = {"LC_CTYPE"}
CHAT_FUNCTIONS = [(stage, handler) for stage in ("sandbox", "prod") for handler in (API_HANDLER, STREAM_HANDLER)]


def _worker(request: pytest.FixtureRequest, stage: str, handler: str) -> LambdaWorker:
    backend: ChatBackend = request.getfixturevalue("chat" if stage == "sandbox" else "prod_chat")
    return backend.api if handler == API_HANDLER else backend.stream


@pytest.mark.parametrize(("stage", "handler"), CHAT_FUNCTIONS)
def test_a_function_runs_with_its_template_environment_lambda_s_own_variables_and_nothing_else(
    request: pytest.FixtureRequest, stage: str, handler: str
) -> None:
    worker = _worker(request, stage, handler)
    environ: dict[str, str] = worker.environ()["environ"]
    declared = worker.function.properties["Environment"]["Variables"]
    environment = worker.environment

    assert set(environment.template) == set(declared)  # every variable the template sets, no other
    assert {k: environ[k] for k in declared} == environment.template
    assert set(environment.runtime) <= LAMBDA_DEFINED
    assert all(
        k.startswith(TRANSPORT_PREFIX) and v.startswith("http://127.0.0.1:") for k, v in environment.transport.items()
    )
    extra = set(environ) - set(declared) - set(environment.runtime) - set(environment.transport) - INTERPRETER_ADDED
    assert extra == set(), f"the harness gives {sorted(extra)}, which neither the template nor Lambda sets"
    assert {k: environ[k] for k in environment.runtime if k != "_X_AMZN_TRACE_ID"} == {
        k: v for k, v in environment.runtime.items() if k != "_X_AMZN_TRACE_ID"
    }


@pytest.mark.parametrize(("stage", "handler"), CHAT_FUNCTIONS)
def test_a_function_imports_its_asset_the_runtime_s_and_its_layers_packages_only(
    request: pytest.FixtureRequest, stage: str, handler: str
) -> None:
    worker = _worker(request, stage, handler)
    seen = worker.environ()
    stdlib = {p for p in sys.path if p.startswith(sys.base_prefix) and "site-packages" not in p}
    function = worker.function
    assert [p for p in seen["path"] if p not in stdlib] == [
        str(function.task_root),
        str(lambda_packages.POWERTOOLS_LAYER),
        str(lambda_packages.RUNTIME),
    ]
    assert function.task_root.name.startswith("asset.")  # the staged asset, as it deploys, not lambda/
    modules = seen["modules"]
    assert Path(modules["boto3"]).is_relative_to(lambda_packages.RUNTIME)
    assert Path(modules["botocore"]).is_relative_to(lambda_packages.RUNTIME)
    assert Path(modules["aws_lambda_powertools"]).is_relative_to(lambda_packages.POWERTOOLS_LAYER)
    assert Path(modules[handler.split(".", maxsplit=1)[0]]).is_relative_to(function.task_root)
    assert not [name for name, file in modules.items() if file and ".venv" in file]


def test_the_runtime_s_sdk_is_the_documented_release() -> None:
    """requirements-lambda-runtime.txt cites the Lambda page's boto3/botocore for python3.13."""
    assert lambda_packages.distribution_version(lambda_packages.RUNTIME, "boto3") == "1.40.4"
    assert lambda_packages.distribution_version(lambda_packages.RUNTIME, "botocore") == "1.40.4"
    layer = {p.name.split("-")[0].removesuffix(".py").lower() for p in lambda_packages.POWERTOOLS_LAYER.iterdir()}
    runtime_provided = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "six", "dateutil", "python_dateutil"}
    assert layer & runtime_provided == set()  # the layer leaves them to the runtime, as the official one does


def _without_stats_reads(function: DeployedFunction) -> DeployedFunction:
    """The function as if `data.room_stats.grant_read_data(api.handler)` were gone from the chat stack."""
    template = copy.deepcopy(function.template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": function.role} in resource["Properties"]["Roles"]:
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            resource["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if STATS not in str(s)]
    return DeployedFunction(function.stack, function.logical_id, template, function.region, function.task_root)


def test_a_call_the_role_does_not_allow_fails_the_invocation_naming_call_resource_and_role(
    chat: ChatBackend, room: str
) -> None:
    function = _without_stats_reads(chat.api.function)
    worker = LambdaWorker(function, chat.resolver, chat.endpoints)
    with closing(worker.start()), pytest.raises(FunctionFailed) as failure:
        chat.call("GET", "stats", room=room, worker=worker)
    message = str(failure.value)
    stats_table = chat.resolver.resolve({"Fn::GetAtt": [STATS, "Arn"]})
    assert f"dynamodb:BatchGetItem on {stats_table}" in message or f"dynamodb:GetItem on {stats_table}" in message
    assert function.role in message


def _policy(*statements: dict[str, Any]) -> RolePolicy:
    return RolePolicy("Role", [{"Resource": [], **s} for s in statements])


TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/t"


@pytest.mark.parametrize(
    ("statements", "permission", "allowed"),
    [
        ([{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": [TABLE]}], ("dynamodb:GetItem", TABLE), True),
        ([{"Effect": "Allow", "Action": "DynamoDB:getitem", "Resource": [TABLE]}], ("dynamodb:GetItem", TABLE), True),
        ([{"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": [TABLE]}], ("dynamodb:GetItem", TABLE), True),
        ([{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": [TABLE]}], ("dynamodb:PutItem", TABLE), False),
        (
            [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": [TABLE]}],
            ("dynamodb:Query", TABLE + "/index/i"),
            False,
        ),
        (
            [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": [TABLE + "/index/*"]}],
            ("dynamodb:Query", TABLE + "/index/i"),
            True,
        ),
        (
            [{"Effect": "Allow", "Action": "s:A", "Resource": ["arn:x:secret:k-??????"]}],
            ("s:A", "arn:x:secret:k-AbCdEf"),
            True,
        ),
        (
            [{"Effect": "Allow", "Action": "s:A", "Resource": ["arn:x:secret:k-??????"]}],
            ("s:A", "arn:x:secret:k-AbCdE"),
            False,
        ),
        ([{"Effect": "Allow", "Action": "s:A", "Resource": ["arn:x:t.b"]}], ("s:A", "arn:x:tXb"), False),
        (
            [
                {"Effect": "Allow", "Action": "*", "Resource": ["*"]},
                {"Effect": "Deny", "Action": "dynamodb:*", "Resource": ["*"]},
            ],
            ("dynamodb:GetItem", TABLE),
            False,
        ),
        ([{"Effect": "Allow", "NotAction": "iam:*", "Resource": ["*"]}], ("dynamodb:GetItem", TABLE), True),
        ([{"Effect": "Allow", "Action": "*", "NotResource": [TABLE]}], ("dynamodb:GetItem", TABLE), False),
        (
            [
                {
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": ["*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                }
            ],
            ("dynamodb:GetItem", TABLE),
            False,
        ),
    ],
    ids=lambda value: "" if not isinstance(value, bool) else str(value),
)
def test_the_role_check_evaluates_iam_policy_logic(
    statements: list[dict[str, Any]], permission: tuple[str, str], allowed: bool
) -> None:
    assert _policy(*statements).allows(Permission(*permission)) is allowed
