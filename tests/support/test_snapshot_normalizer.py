"""The snapshot normalizer replaces hashes where templates carry them, and nowhere else."""

from __future__ import annotations

import pytest

from tests.support.snapshot import normalize

CODE = "0" * 24 + "c0de" * 10  # 64 hex characters
VERSION = "FnCurrentVersionD6F77E9F" + "a" * 32
BUCKET = "s3://cdk-hnb659fds-assets-${AWS::AccountId}-eu-west-1"
IMAGE = (
    "${AWS::AccountId}.dkr.ecr.eu-west-1.${AWS::URLSuffix}/cdk-hnb659fds-container-assets-${AWS::AccountId}-eu-west-1:"
)


def _template(**resources: dict[str, object]) -> dict[str, object]:
    return {"Resources": resources}


def test_asset_keys_image_tags_and_version_ids_are_replaced_with_their_references() -> None:
    template = _template(
        Fn={"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": f"{CODE}.zip"}}},
        **{VERSION: {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}}},
        Alias={"Type": "AWS::Lambda::Alias", "Properties": {"FunctionVersion": {"Fn::GetAtt": [VERSION, "Version"]}}},
        Task={"Type": "AWS::ECS::TaskDefinition", "Properties": {"Image": {"Fn::Sub": IMAGE + CODE}}},
        Build={"Type": "Custom::Build", "Properties": {"sourceS3Url": {"Fn::Sub": f"{BUCKET}/{CODE}.zip"}}},
    )
    version = "FnCurrentVersionD6F77E9F<code-hash>"
    assert normalize(template)["Resources"] == {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Key": "<asset-hash>.zip"}}},
        version: {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}},
        "Alias": {
            "Type": "AWS::Lambda::Alias",
            "Properties": {"FunctionVersion": {"Fn::GetAtt": [version, "Version"]}},
        },
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Image": {"Fn::Sub": IMAGE + "<asset-hash>"}}},
        "Build": {"Type": "Custom::Build", "Properties": {"sourceS3Url": {"Fn::Sub": f"{BUCKET}/<asset-hash>.zip"}}},
    }


def test_a_hash_anywhere_else_is_infrastructure_and_stays() -> None:
    properties = {"Value": CODE, "Name": f"/x/{CODE}.zip", "Description": f"not the id: {VERSION}"}
    template = _template(**{f"Thing{CODE}": {"Type": "AWS::SSM::Parameter", "Properties": properties}})
    assert normalize(template) == template


def test_two_keys_that_would_become_one_are_refused() -> None:
    """Two versions of a function differ only in their hash: the snapshot must not silently keep one."""
    other = VERSION[:-32] + "b" * 32
    template = _template(
        **{
            name: {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}}
            for name in (VERSION, other)
        }
    )
    with pytest.raises(ValueError, match="would merge the keys") as raised:
        normalize(template)
    assert VERSION in str(raised.value) and other in str(raised.value)
