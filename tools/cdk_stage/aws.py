"""What the targets ask AWS themselves: whose credentials these are, what is deployed, and the bootstrap's
execution policies.

Every client honours the standard AWS settings (profile, AWS_ENDPOINT_URL for an emulator) like the CDK CLI.
The clients come from botocore, the SDK under boto3: the same clients, credential chain and settings, without
boto3's resource layer and S3 transfer manager, whose import would cost every target run about 0.1 s of CPU.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions
import botocore.session
from botocore.config import Config

# Fail fast on an unreachable endpoint: two attempts, short timeouts (the CLI does the long work).
_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2, "mode": "standard"})
_POLICY_VERSIONS = 5  # IAM keeps at most five versions of a managed policy
_POLICY_DESCRIPTION = "CloudFormation execution policy of the CDK bootstrap (tools/cdk_stage/execution_policy.py)"


class NoAccess(RuntimeError):
    """No usable AWS credentials or endpoint; the message is one line saying which."""


_session: list[botocore.session.Session] = []  # one per target run, made when its credentials are checked


def _current() -> botocore.session.Session:
    if not _session:
        _session.append(botocore.session.get_session())
    return _session[0]


def client(service: str, region: str, credentials: dict[str, str] | None = None) -> Any:
    """A client with the current credentials, or with `credentials` (an assumed role's) when given."""
    keys = (
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
        if credentials
        else {}
    )
    return _current().create_client(service, region_name=region, config=_CONFIG, **keys)


def partition(region: str) -> str:
    return str(_current().get_partition_for_region(region))


class MayNotRead(RuntimeError):
    """The credentials may not read a stack; the message says which and what the target needs."""


def _read_stack(stack_name: str, region: str, read: Any) -> Any:
    """`read(cloudformation_client)` with the current credentials and nothing else: no role is assumed (a
    pull request's role may read the stage's stacks and nothing more; CDK's lookup role could read secrets)."""
    try:
        return read(client("cloudformation", region))
    except botocore.exceptions.ClientError as error:
        info = error.response.get("Error", {})
        if info.get("Code") not in {"AccessDenied", "AccessDeniedException"}:
            raise
        raise MayNotRead(
            f"the credentials may not read stack {stack_name} in {region}: {info.get('Message')}; the targets read "
            "stacks with cloudformation:DescribeStacks (and ListStackResources to destroy) on the stage's stacks"
        ) from None


def check_access(region: str) -> str:
    """The account the current credentials belong to; NoAccess with the reason when there is none."""
    _session.clear()  # the credentials and endpoint as they are now
    try:
        identity = client("sts", region).get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise NoAccess(
            "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        ) from None
    except botocore.exceptions.ProfileNotFound as error:
        raise NoAccess(f"{error} (check AWS_PROFILE)") from None
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as error:
        raise NoAccess(f"cannot reach AWS: {error}") from None
    except botocore.exceptions.ClientError as error:
        info = error.response.get("Error", {})
        raise NoAccess(f"AWS refused the credentials: {info.get('Code')}: {info.get('Message')}") from None
    except botocore.exceptions.BotoCoreError as error:  # expired SSO tokens, bad config files, ...
        raise NoAccess(f"cannot use the AWS credentials: {error}") from None
    return str(identity["Account"])


def stack_status(stack_name: str, region: str) -> str | None:
    """The stack's status, or None when no such stack exists (never created, or deleted)."""

    def read(cfn: Any) -> str | None:
        try:
            stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
        except botocore.exceptions.ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        status = str(stacks[0]["StackStatus"]) if stacks else None
        return None if status == "DELETE_COMPLETE" else status

    found: str | None = _read_stack(stack_name, region, read)
    return found


def physical_ids(stack_name: str, region: str) -> dict[str, str]:
    """Logical id -> physical id of every resource of a deployed stack."""

    def read(cfn: Any) -> dict[str, str]:
        return {
            resource["LogicalResourceId"]: resource["PhysicalResourceId"]
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name)
            for resource in page["StackResourceSummaries"]
            if resource.get("PhysicalResourceId")
        }

    found: dict[str, str] = _read_stack(stack_name, region, read)
    return found


def put_managed_policies(prefix: str, documents: list[dict[str, Any]], region: str, account: str) -> list[str]:
    """Create (or give a new default version to) the managed policies <prefix>-1..N; their ARNs."""
    iam = client("iam", region)
    arns = []
    for number, document in enumerate(documents, 1):
        name = f"{prefix}-{number}"
        arn = f"arn:{partition(region)}:iam::{account}:policy/{name}"
        body = json.dumps(document)
        try:
            versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        except iam.exceptions.NoSuchEntityException:
            iam.create_policy(PolicyName=name, PolicyDocument=body, Description=_POLICY_DESCRIPTION)
        else:
            if len(versions) >= _POLICY_VERSIONS:  # IAM keeps five; the oldest non-default one goes
                oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
                iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=body, SetAsDefault=True)
        arns.append(arn)
    return arns
