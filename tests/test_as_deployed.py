"""The handler tests' harness gives each function what its synthesized template and Lambda give it, and nothing
else: the environment, the packages, the role's permissions. Each test here fails when the harness adds to
or leaves out what deploys."""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import db_roles_backend, lambda_packages, publisher_backend
from tests.support.chat_backend import API_HANDLER, STATS, STREAM_HANDLER, ChatBackend
from tests.support.lambda_environment import LAMBDA_DEFINED, TRANSPORT_PREFIX, DeployedFunction, Resolver
from tests.support.lambda_environment import deployed_function as deployed
from tests.support.lambda_worker import FunctionFailed, LambdaWorker, Zygote
from tests.support.publisher_backend import PublisherBackend
from tests.support.role_policy import Permission, RolePolicy
from tests.support.synth import Synthesized, resources_of_type

# What the interpreter itself adds to its environment: with LANG's locale missing on this machine, Python
# coerces the C locale and sets LC_CTYPE (PEP 538, "Coercing the legacy C locale to a UTF-8 based locale").
INTERPRETER_ADDED = {"LC_CTYPE"}
# Set by the runtime for each invocation (LAMBDA_DEFINED): there once the worker has served one.
PER_INVOCATION = {"_X_AMZN_TRACE_ID"}
PUBLISHER, DB_ROLES = publisher_backend.HANDLER, db_roles_backend.HANDLER


@dataclass(frozen=True)
class Run:
    """A function the handler tests run as deployed: where its template is, and the fixture whose worker runs it."""

    assembly: str  # "app" (the `synth` fixture) or "variants"
    stack: str
    handler: str
    fixture: str
    worker: Callable[[Any], LambdaWorker]

    def __str__(self) -> str:
        return f"{self.assembly}:{self.stack}:{self.handler.split('.', 1)[0]}"


# Every run of a Python function through the worker. Both stages' chat functions and publishers; the database-role
# function of the sandbox (prod's has the same environment and grants); the publisher of the variant whose web
# service speaks HTTPS (its template adds ORIGIN_TLS_NAME). test_every_python_function_... keeps this complete.
RUNS = (
    Run("app", "sandbox/Chat", API_HANDLER, "chat", lambda backend: backend.api),
    Run("app", "sandbox/Chat", STREAM_HANDLER, "chat", lambda backend: backend.stream),
    Run("app", "prod/Chat", API_HANDLER, "prod_chat", lambda backend: backend.api),
    Run("app", "prod/Chat", STREAM_HANDLER, "prod_chat", lambda backend: backend.stream),
    Run("app", "sandbox/Edge", PUBLISHER, "publisher", lambda backend: backend.worker),
    Run("app", "prod/Edge", PUBLISHER, "prod_publisher", lambda backend: backend.worker),
    Run("variants", "tuned/Edge", PUBLISHER, "https_publisher", lambda backend: backend.worker),
    Run("app", "sandbox/Web", DB_ROLES, "db_roles", lambda backend: backend.worker),
)

# Each run goes with the other tests of its backend's server (tests/support/scheduling.py).
PARAMS = [pytest.param(run, marks=[pytest.mark.requests(run.fixture)]) for run in RUNS]


def _worker(request: pytest.FixtureRequest, run: Run) -> LambdaWorker:
    worker = run.worker(request.getfixturevalue(run.fixture))
    assert (worker.function.stack, worker.function.handler) == (run.stack, run.handler)
    return worker


@pytest.mark.parametrize("run", PARAMS, ids=str)
def test_a_function_runs_with_its_template_environment_lambda_s_own_variables_and_nothing_else(
    request: pytest.FixtureRequest, run: Run
) -> None:
    worker = _worker(request, run)
    environ: dict[str, str] = worker.environ()["environ"]
    declared = worker.function.properties["Environment"]["Variables"]
    environment = worker.environment

    assert set(environment.template) == set(declared)  # every variable the template sets, no other
    assert {k: environ[k] for k in declared} == environment.template
    assert set(environment.runtime) <= LAMBDA_DEFINED
    assert all(
        k.startswith(TRANSPORT_PREFIX) and v.startswith("http://127.0.0.1:") for k, v in environment.transport.items()
    )
    lambda_sets = set(environment.runtime) | PER_INVOCATION | INTERPRETER_ADDED
    extra = set(environ) - set(declared) - lambda_sets - set(environment.transport)
    assert extra == set(), f"the harness gives {sorted(extra)}, which neither the template nor Lambda sets"
    assert {k: environ[k] for k in environment.runtime if k not in PER_INVOCATION} == {
        k: v for k, v in environment.runtime.items() if k not in PER_INVOCATION
    }


@pytest.mark.parametrize("run", PARAMS, ids=str)
def test_a_function_imports_its_asset_the_runtime_s_and_its_layers_packages_only(
    request: pytest.FixtureRequest, run: Run
) -> None:
    worker = _worker(request, run)
    seen = worker.environ()
    stdlib = {p for p in sys.path if p.startswith(sys.base_prefix) and "site-packages" not in p}
    function = worker.function
    layers = [lambda_packages.POWERTOOLS_LAYER] if function.properties.get("Layers") else []
    assert [p for p in seen["path"] if p not in stdlib] == [
        str(function.task_root),
        *map(str, layers),
        str(lambda_packages.RUNTIME),
    ]
    assert function.task_root.name.startswith("asset.")  # the staged asset, as it deploys, not the source folder
    modules = seen["modules"]
    assert Path(modules["boto3"]).is_relative_to(lambda_packages.RUNTIME)
    assert Path(modules["botocore"]).is_relative_to(lambda_packages.RUNTIME)
    if layers:
        assert Path(modules["aws_lambda_powertools"]).is_relative_to(lambda_packages.POWERTOOLS_LAYER)
    else:
        assert "aws_lambda_powertools" not in modules
    assert Path(modules[run.handler.split(".", maxsplit=1)[0]]).is_relative_to(function.task_root)
    assert not [name for name, file in modules.items() if file and ".venv" in file]


def test_an_environment_whose_path_has_its_own_copy_of_a_preloaded_package_is_not_forked(tmp_path: Path) -> None:
    """Environments are forked from a zygote that has imported boto3 from the runtime's packages; one whose
    asset (or layer) brings another boto3 would import that one on Lambda, so it fails to start, naming it."""
    (tmp_path / "boto3").mkdir()
    (tmp_path / "boto3" / "__init__.py").write_text("")
    settings = {"path": [str(tmp_path), str(lambda_packages.RUNTIME)], "handler": "h.handler", "timeout_s": 3}
    requests_read, requests_write = os.pipe()
    replies_read, replies_write = os.pipe()
    with tempfile.TemporaryFile() as log:
        forked = Zygote.shared().spawn(
            {**settings, "mode": "serve"}, {}, tmp_path, (requests_read, replies_write, log.fileno())
        )
        os.close(requests_read)
        os.close(replies_write)
        with os.fdopen(replies_read) as replies:
            init = json.loads(replies.readline())
        os.close(requests_write)
        forked.wait(10)
    assert init["error"]["errorType"] == "HarnessError"
    assert (
        f"boto3 ({lambda_packages.RUNTIME}/boto3/__init__.py, the path has {tmp_path}/boto3/__init__.py)"
        in (init["error"]["errorMessage"])
    )


def test_the_runtime_s_sdk_is_the_documented_release() -> None:
    """requirements-lambda-runtime.txt cites the Lambda page's boto3/botocore for python3.13."""
    assert lambda_packages.distribution_version(lambda_packages.RUNTIME, "boto3") == "1.40.4"
    assert lambda_packages.distribution_version(lambda_packages.RUNTIME, "botocore") == "1.40.4"
    layer = {p.name.split("-")[0].removesuffix(".py").lower() for p in lambda_packages.POWERTOOLS_LAYER.iterdir()}
    runtime_provided = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "six", "dateutil", "python_dateutil"}
    assert layer & runtime_provided == set()  # the layer leaves them to the runtime, as the official one does


# --- every Python function of every template is one the handler tests run ----------------------------------------


@dataclass(frozen=True)
class PythonFunction:
    assembly: str
    stack: str
    logical_id: str
    handler: str
    variables: tuple[str, ...]  # its environment's variable names
    actions: tuple[str, ...]  # every action its role's policies name

    def signature(self) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """What decides which code paths a run takes: the handler, the variables it is given, what it may call."""
        return self.handler, self.variables, self.actions


def python_functions(assemblies: dict[str, Synthesized]) -> Iterator[PythonFunction]:
    """Every AWS::Lambda::Function with a Python runtime, in every template of `assemblies`."""
    for name, assembly in assemblies.items():
        for stack, template in assembly.templates.items():
            for logical_id, resource in resources_of_type(template, "AWS::Lambda::Function").items():
                properties = resource["Properties"]
                if not str(properties.get("Runtime", "")).startswith("python"):
                    continue
                function = deployed(assembly, stack, properties["Handler"])
                policy = RolePolicy.of(function, Resolver(template, assembly.regions[stack]))
                actions = {a for s in policy.statements for a in _listed(s.get("Action", s.get("NotAction", [])))}
                variables = properties.get("Environment", {}).get("Variables", {})
                yield PythonFunction(
                    name, stack, logical_id, properties["Handler"], tuple(sorted(variables)), tuple(sorted(actions))
                )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_python_function_of_every_template_is_run_as_deployed(synth: Synthesized, variants: Synthesized) -> None:
    """Each Python function of both stages and every variant is run through the worker by a test above (RUNS), or
    has the signature of one that is: the same handler, environment variable names and granted actions. A new
    function, or a stage or variant that gives one another variable or grant, fails here until a run covers it."""
    assemblies = {"app": synth, "variants": variants}
    found = list(python_functions(assemblies))
    run_at = {(run.assembly, run.stack, run.handler) for run in RUNS}
    ran = [f for f in found if (f.assembly, f.stack, f.handler) in run_at]
    assert len(ran) == len(RUNS), "a run names a function no template has"
    covered = {f.signature() for f in ran}
    missing = [f"{f.assembly}:{f.stack}/{f.logical_id} ({f.handler})" for f in found if f.signature() not in covered]
    assert missing == [], "Python functions no handler test runs as deployed (add a Run):\n" + "\n".join(missing)
    assert {f.handler for f in found} == {run.handler for run in RUNS}


# --- a call the role does not allow fails the invocation that made it ---------------------------------------------


def _without(function: DeployedFunction, dropped: Callable[[dict[str, Any]], bool]) -> DeployedFunction:
    """The function as if the grants whose statements `dropped` picks were gone from its stack."""
    template = copy.deepcopy(function.template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": function.role} in resource["Properties"]["Roles"]:
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            resource["Properties"]["PolicyDocument"]["Statement"] = [s for s in statements if not dropped(s)]
    return DeployedFunction(function.stack, function.logical_id, template, function.region, function.task_root)


def test_a_call_the_role_does_not_allow_fails_the_invocation_naming_call_resource_and_role(
    chat: ChatBackend, room: str
) -> None:
    """As if `data.room_stats.grant_read_data(api.handler)` were gone from the chat stack."""
    function = _without(chat.api.function, lambda statement: STATS in str(statement))
    worker = LambdaWorker(function, chat.resolver, chat.endpoints)
    with closing(worker.start()), pytest.raises(FunctionFailed) as failure:
        chat.call("GET", "stats", room=room, worker=worker)
    message = str(failure.value)
    stats_table = chat.resolver.resolve({"Fn::GetAtt": [STATS, "Arn"]})
    assert f"dynamodb:BatchGetItem on {stats_table}" in message or f"dynamodb:GetItem on {stats_table}" in message
    assert function.role in message


def test_the_publisher_without_its_put_grant_fails_its_first_store(publisher: PublisherBackend) -> None:
    """As if `bucket.grant_put(self.fetcher.function, ...)` were gone from edge/publisher.py."""
    function = _without(publisher.worker.function, lambda statement: "s3:PutObject" in _listed(statement["Action"]))
    worker = LambdaWorker(function, publisher.stand_ins.resolver, publisher.stand_ins.endpoints)
    (event,) = publisher.events(["/news/today"])["FetchAndStorePage"]
    with closing(worker.start()), pytest.raises(FunctionFailed) as failure:
        worker.invoke(event)
    assert f"s3:PutObject on arn:aws:s3:::{publisher.bucket}/pages/news/today" in str(failure.value)
    assert function.role in str(failure.value)


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
