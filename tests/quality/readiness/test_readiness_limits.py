"""Limit rules: each flags a small construct that can exceed a quota or limit and passes one that cannot."""

from __future__ import annotations

from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from quality.declare import declare_bounds
from tests.support.readiness import Findings, findings_fixture, stage_stack

STACK = "prod/Limits"
MAX_ITEMS = 3_000


def _function(stack: Stack) -> lambda_.Function:
    return lambda_.Function(
        stack,
        "Work",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )


def _invoke(stack: Stack, name: str, function: lambda_.IFunction) -> tasks.LambdaInvoke:
    task = tasks.LambdaInvoke(stack, name, lambda_function=function, payload_response_only=True)
    task.add_retry(errors=["States.ALL"], max_attempts=2)
    return task


def _machine(
    stack: Stack, name: str, definition: sfn.IChainable, *, max_items: int | None, log_group_name: str | None = None
) -> None:
    group = logs.LogGroup(stack, f"{name}Logs", log_group_name=log_group_name, removal_policy=RemovalPolicy.DESTROY)
    machine = sfn.StateMachine(
        stack,
        name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        logs=sfn.LogOptions(destination=group),
    )
    if max_items is not None:
        declare_bounds(machine, max_items=max_items)


def _build_state_machines(stack: Stack) -> None:
    function = _function(stack)
    # Every item's Lambda output collected into one state, and no bound on the items.
    undeclared = sfn.Map(stack, "UndeclaredEach", items_path="$.items", result_path="$.results")
    undeclared.item_processor(_invoke(stack, "UndeclaredWork", function))
    _machine(stack, "Undeclared", undeclared, max_items=None, log_group_name="/aws/vendedlogs/states/undeclared")
    # 3,000 items of 13 events each (a task with two retries) in one Standard history.
    long_history = sfn.Map(stack, "LongEach", items_path="$.items", result_path=sfn.JsonPath.DISCARD)
    long_history.item_processor(_invoke(stack, "LongWork", function))
    _machine(stack, "LongHistory", long_history, max_items=MAX_ITEMS, log_group_name="/test/states/long")
    # Few events per item, but 3,000 results of about 120 bytes each in one state.
    big = sfn.Map(stack, "BigEach", items_path="$.items")
    big.item_processor(sfn.Pass(stack, "BigResult", parameters={"note": "x" * 100, "index.$": "$$.Map.Item.Index"}))
    _machine(stack, "BigResults", big, max_items=MAX_ITEMS, log_group_name="/aws/vendedlogs/states/big")
    # Batches of 100 as child executions, each reporting a count: bounded whatever the items.
    each = sfn.Map(stack, "BoundedEach", items_path="$.Items", result_path="$.results")
    each.item_processor(_invoke(stack, "BoundedWork", function).next(sfn.Pass(stack, "Done", parameters={"ok": 1})))
    batches = sfn.DistributedMap(
        stack,
        "BoundedBatches",
        items_path="$.items",
        item_batcher=sfn.ItemBatcher(max_items_per_batch=100, max_input_bytes_per_batch=64 * 1024),
    )
    batches.item_processor(each.next(sfn.Pass(stack, "Count", parameters={"done.$": "States.ArrayLength($.results)"})))
    _machine(stack, "Bounded", batches, max_items=MAX_ITEMS, log_group_name="/aws/vendedlogs/states/bounded")


def _cache_policies(stack: Stack, count: int) -> None:
    for index in range(count):
        cloudfront.CachePolicy(stack, f"Policy{index}", default_ttl=Duration.seconds(index + 1))


def _build(app: object) -> None:
    assert isinstance(app, App)
    stack = stage_stack(app, "prod", "Limits")
    _build_state_machines(stack)
    # Cache policies count per account, across stages.
    _cache_policies(stage_stack(app, "one", "Cdn", account="111111111111"), 12)
    _cache_policies(stage_stack(app, "two", "Cdn", account="111111111111"), 9)
    _cache_policies(stage_stack(app, "three", "Cdn", account="222222222222"), 20)


findings = findings_fixture(_build)


def test_an_inline_map_without_a_declared_maximum_is_unbounded(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Undeclared", "StateMachineWithinLimits") == {"History", "Payload/UndeclaredEach"}


def test_an_inline_map_of_many_items_exceeds_the_history(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/LongHistory", "StateMachineWithinLimits") == {"History"}


def test_collecting_many_large_results_exceeds_the_state_size(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/BigResults", "StateMachineWithinLimits") == {"Payload/BigEach"}


def test_batched_child_executions_reporting_counts_stay_within_limits(findings: Findings) -> None:
    assert findings.rule_of(f"{STACK}/Bounded", "StateMachineWithinLimits") == set()


def test_a_state_machine_log_group_outside_vendedlogs_is_flagged(findings: Findings) -> None:
    (group,) = findings.rule_of(f"{STACK}/LongHistory", "VendedLogGroup")
    assert group.startswith("LongHistoryLogs")
    assert findings.rule_of(f"{STACK}/Bounded", "VendedLogGroup") == set()


def test_cache_policies_count_per_account_across_stages(findings: Findings) -> None:
    for stage in ("one", "two"):  # 12 + 9 in one account
        assert findings.rule_of(f"{stage}/Cdn/Policy0", "CachePoliciesWithinQuota") == {"Quota"}
    assert findings.rule_of("three/Cdn", "CachePoliciesWithinQuota") == set()  # exactly 20
