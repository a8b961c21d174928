"""Exact grants: the actions a function's code calls, on the resources it calls them on, and nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

from quality.declare import declare_table_access


@dataclass(frozen=True)
class TableAccess:
    """The DynamoDB actions code calls on a table, and on each index it queries (by index name)."""

    table: tuple[str, ...] = ()
    indexes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def grant_table_access(grantee: iam.IGrantable, table: dynamodb.Table, access: TableAccess) -> None:
    """Allow exactly `access` on the table's ARN and on each named index's ARN, and declare it for the
    TableAccessDeclared rule. CDK's Table.grant() would add `<table>/index/*`: every index, present and to come."""
    if access.table:
        iam.Grant.add_to_principal(grantee=grantee, actions=list(access.table), resource_arns=[table.table_arn])
        declare_table_access(grantee, table, access.table)
    for index, actions in access.indexes.items():
        iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[f"{table.table_arn}/index/{index}"]
        )
        declare_table_access(grantee, table, actions, index=index)


@jsii.implements(lambda_.IEventSourceDlq)
class SendOnlyQueue:
    """An event source mapping's on-failure queue, granted sqs:SendMessage only: "Your execution role must have
    permissions for the destination: For SQS destinations: sqs:SendMessage" (Lambda Developer Guide, capturing
    discarded batches). CDK's SqsDlq also grants GetQueueAttributes and GetQueueUrl, which Lambda does not use."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        iam.Grant.add_to_principal(
            grantee=target_handler, actions=["sqs:SendMessage"], resource_arns=[self._queue.queue_arn]
        )
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)
