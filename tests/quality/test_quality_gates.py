"""Gates every stack of every stage must pass: the validation report (cdk-nag, CDK's checks, synthesis warnings),
cfn-lint, checkov skips with reasons, no physical names, pinned stateful ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.gates import cfn_lint_findings, cfn_lint_ignored, gate_findings
from tests.support.synth import ROOT, Synthesized, stack_keys
from tests.support.variants import CANARY_WARNING, variant_keys

STACKS = stack_keys()

# Logical ids of resources that hold data. Changing one replaces the resource and loses its data,
# so a change here must be deliberate (and come with a migration plan).
STATEFUL_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
}
PINNED_IDS: dict[str, dict[str, str]] = {
    "Chat": {
        "DataComments205BAF48": "AWS::DynamoDB::Table",
        "DataRoomStats98CA9737": "AWS::DynamoDB::Table",
        "DataIdempotency4AE02808": "AWS::DynamoDB::Table",
        "RoomStatsDeadLetters3B38E34D": "AWS::SQS::Queue",
        "CommentsCursorKey292248F6": "AWS::SecretsManager::Secret",
    },
    "Web": {
        "DatabaseSecret3B817195": "AWS::SecretsManager::Secret",
        "DatabaseAppRoleSecret4972C4D8": "AWS::SecretsManager::Secret",
        "DatabaseCluster5B53A178": "AWS::RDS::DBCluster",
        "DatabaseClusterWriterD43085C6": "AWS::RDS::DBInstance",
        "LoadBalancerAccessLogsBucket38E275E7": "AWS::S3::Bucket",
    },
    "Edge": {
        "StorageCacheEC0123D0": "AWS::S3::Bucket",
        "StorageAccessLogs96FB524C": "AWS::S3::Bucket",
    },
    # The us-east-1 stack (prod) holds the web ACL only: no data.
    "EdgeFunctions": {},
}
# Stateful resources only some stages have ("stage/Stack"), on top of PINNED_IDS.
STAGE_PINNED_IDS: dict[str, dict[str, str]] = {
    "prod/Web": {"DatabaseClusterReader1D8B76102": "AWS::RDS::DBInstance"},
}


def test_no_validation_plugin_reports_an_unacknowledged_finding(synth: Synthesized) -> None:
    """cdk-nag, CDK's template checks and construct annotations (synthesis warnings and errors: with the
    annotationsInValidationReport flag of cdk.json they are in the report, else in the manifest, which the
    gate reads too), over the whole report: a finding whose construct path is empty or names no stack fails
    as loudly as one inside a stack."""
    assert gate_findings(synth) == []


def test_the_variant_stages_pass_the_gate_too(variants: Synthesized) -> None:
    """Settings no shipped stage uses (tests/support/variants.py): their acknowledgements hold as well."""
    assert gate_findings(variants) == []


def test_the_gate_flags_the_canary_and_only_what_is_not_acknowledged(canary: Synthesized) -> None:
    """The app's own cdk-nag attachment (build_app with no stage) on a small non-compliant app."""
    assert gate_findings(canary) == [
        "AwsSolutions AwsSolutions-SQS3 at Canary/Open/Resource (stack Canary)",
        "AwsSolutions AwsSolutions-SQS4 at Canary/Open/Resource (stack Canary)",
        "Construct Annotations Annotation::canary:warning at Canary (stack Canary)",
    ]
    (warning,) = [v for v in canary.violations if v["plugin"] == "Construct Annotations"]
    assert warning["description"] == CANARY_WARNING


@pytest.mark.parametrize("path", ["", "Elsewhere/Queue/Resource"])
def test_the_gate_flags_a_finding_that_belongs_to_no_stack(path: str) -> None:
    """CDK writes an empty construct path when it cannot resolve one; such a finding is still a finding."""
    violation = {
        "ruleName": "AwsSolutions-SQS4",
        "description": "The SQS queue does not require requests to use SSL.",
        "severity": "error",
        "violatingConstructs": [{"constructPath": path}],
    }
    report = {"pluginReports": [{"pluginName": "AwsSolutions", "conclusion": "failure", "violations": [violation]}]}
    found = Synthesized(Path("cdk.out"), {"sandbox/Chat": {}}, {}, {}, {"sandbox/Chat": []}, report)
    assert gate_findings(found) == [f"AwsSolutions AwsSolutions-SQS4 at {path or '(no construct path)'} (no stack)"]


def test_cdk_nag_ran(synth: Synthesized) -> None:
    """Both packs ran to the end: no pack crashed, and ours judged the app's resources (an empty report means
    no findings, not no checks). The count comes from the process that synthesized (a recipe fact)."""
    assert (synth.outdir / "validation-report.json").exists()
    assert [p["pluginName"] for p in synth.report.get("pluginReports", []) if p.get("metadata", {}).get("error")] == []
    resources = sum(len(t["Resources"]) for t in synth.templates.values())
    assert synth.facts["readiness_resources_checked"] >= resources


def test_every_ignored_cfn_lint_check_has_a_reason() -> None:
    lines = (ROOT / ".cfnlintrc.yaml").read_text().splitlines()
    for check in cfn_lint_ignored():
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        assert lines[index - 1].strip().startswith("#") and len(lines[index - 1]) > 40, f"{check} needs a reason"


def test_every_app_wide_checkov_skip_has_a_reason_and_findings_fail_the_build() -> None:
    """`make lint` runs checkov with .checkov.yaml: a check skipped for the whole app says why on the line above."""
    text = (ROOT / ".checkov.yaml").read_text()
    config = yaml.safe_load(text)
    lines = text.splitlines()
    assert config["skip-check"], "no app-wide skips: drop the key instead"
    for check in config["skip-check"]:
        index = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        reason = lines[index - 2].strip() + " " + lines[index - 1].strip()
        assert reason.startswith(f"# {check}:") and len(reason) > 80, f"{check} needs a reason"
    assert not config.get("soft-fail") and not config.get("soft-fail-on"), "findings must fail make lint"
    assert config["framework"] == ["cloudformation"] and config["skip-download"] is True  # offline
    makefile = (ROOT / "Makefile").read_text()
    assert "checkov --config-file .checkov.yaml -f cdk.out/assembly-*/*.template.json" in makefile


@pytest.mark.parametrize("key", STACKS)
def test_every_checkov_skip_next_to_a_construct_has_a_reason(synth: Synthesized, key: str) -> None:
    """Resource-level skips (quality/declare.py) name one check and say why, in the resource's metadata."""
    app_wide = set(yaml.safe_load((ROOT / ".checkov.yaml").read_text())["skip-check"])
    for logical_id, resource in synth.templates[key]["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (logical_id, skip)
            assert len(skip["comment"]) >= 25, (logical_id, skip)
            assert skip["id"] not in app_wide, f"{logical_id}: {skip['id']} is already skipped app-wide"


def test_a_checkov_skip_without_a_real_reason_is_refused_at_synth() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_s3 as s3

    from quality.declare import skip_check

    bucket = s3.Bucket(Stack(App(), "S"), "B")
    with pytest.raises(ValueError, match="specific reason"):
        skip_check(bucket, "CKV_AWS_18", "n/a")
    with pytest.raises(ValueError, match="not a checkov AWS check id"):
        skip_check(bucket, "AwsSolutions-S1", "A reason that is long enough to pass.")
    skip_check(bucket, "CKV_AWS_18", "The first reason, long enough to pass.")
    skip_check(bucket, "CKV_AWS_18", "The second reason replaces the first one.")
    skip_check(bucket, "CKV_AWS_21", "Another check on the same resource is kept.")
    cfn = bucket.node.default_child
    assert cfn.get_metadata("checkov") == {  # type: ignore[union-attr]
        "skip": [
            {"id": "CKV_AWS_18", "comment": "The second reason replaces the first one."},
            {"id": "CKV_AWS_21", "comment": "Another check on the same resource is kept."},
        ]
    }


@pytest.mark.parametrize("key", STACKS)
def test_cfn_lint_is_clean(synth: Synthesized, key: str) -> None:
    assert cfn_lint_findings(synth.templates[key], synth.regions[key]) == []


@pytest.mark.parametrize("key", variant_keys())
def test_cfn_lint_is_clean_on_the_variant_stages(variants: Synthesized, key: str) -> None:
    assert cfn_lint_findings(variants.templates[key], variants.regions[key]) == []


@pytest.mark.parametrize("key", STACKS)
def test_stateful_logical_ids_are_pinned(synth: Synthesized, key: str) -> None:
    stack_id = key.split("/", 1)[1]
    stateful = {
        logical_id: resource["Type"]
        for logical_id, resource in synth.templates[key]["Resources"].items()
        if resource["Type"] in STATEFUL_TYPES
    }
    assert stateful == {**PINNED_IDS[stack_id], **STAGE_PINNED_IDS.get(key, {})}


# Properties that match the name pattern but identify something AWS owns, not a resource we name.
NOT_PHYSICAL_NAMES = {("AWS::EC2::VPCEndpoint", "ServiceName")}  # e.g. com.amazonaws.<region>.secretsmanager


@pytest.mark.parametrize("key", STACKS)
def test_no_physical_names(synth: Synthesized, key: str) -> None:
    """Generated names let a stack deploy twice in one account and allow replacements."""
    named = {
        logical_id: prop
        for logical_id, resource in synth.templates[key]["Resources"].items()
        for prop, value in resource.get("Properties", {}).items()
        if isinstance(value, str)
        and (resource["Type"], prop) not in NOT_PHYSICAL_NAMES
        and re.fullmatch(
            r"(Table|Bucket|Queue|Function|Topic|Role|Cluster|Service|LoadBalancer|StateMachine)Name", prop
        )
    }
    assert named == {}


def test_pinned_types_are_stateful() -> None:
    for pinned in [*PINNED_IDS.values(), *STAGE_PINNED_IDS.values()]:
        assert set(pinned.values()) <= STATEFUL_TYPES


# Stateful resources a stage that keeps its data still deletes with its stack, and why nothing is lost.
DELETED_WITH_THE_STACK = {
    "CommentsCursorKey292248F6": "a signing key: a new one only ends the cursors clients hold",
    "RoomStatsDeadLetters3B38E34D": "pointers to failed stream batches, kept 14 days; the records stay in the table",
}


@pytest.mark.parametrize("key", [k for k in STACKS if k.startswith("prod/")])
def test_a_stage_that_keeps_its_data_retains_every_stateful_resource(synth: Synthesized, key: str) -> None:
    """Every table, bucket, cluster, instance, queue and secret of prod outlives its stack (Retain or Snapshot), but
    those listed with their reason; over every resource of those types, not a list of ids."""
    deleted = {
        logical_id
        for logical_id, resource in synth.templates[key]["Resources"].items()
        if resource["Type"] in STATEFUL_TYPES and resource.get("DeletionPolicy") not in ("Retain", "Snapshot")
    }
    assert deleted <= set(DELETED_WITH_THE_STACK), sorted(deleted - set(DELETED_WITH_THE_STACK))
