"""The GitHub workflows: linted by `make lint-workflows` (a broken one fails it), pinned, and doing what
.ci/run and the deploy-access stack expect.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stage.config import load_stage
from tests.support.synth import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
SHA_PIN = re.compile(r"^\s*(?:- )?uses: (?P<action>[\w.-]+/[\w.-]+)@(?P<ref>\S+)(?: # (?P<comment>.*))?$")


def _workflow(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())  # type: ignore[no-any-return]


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]  # type: ignore[no-any-return]


def _lint(*files: Path) -> subprocess.CompletedProcess[str]:
    """`make lint-workflows`, the target `make lint` runs, on the given files."""
    workflows = " ".join(shlex.quote(str(f)) for f in files)
    return subprocess.run(
        ["make", "--no-print-directory", "lint-workflows", f"WORKFLOWS={workflows}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflows_pass_make_lint_workflows() -> None:
    result = _lint(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


BREAKAGES = {
    # what a broken copy of ci.yml changes -> what actionlint reports
    "undefined step output": (
        "steps.python.outputs.python-version",
        "steps.pyhton.outputs.python-version",
        'property "pyhton" is not defined',
    ),
    "unknown job key": ("timeout-minutes: 90", "timeout-minute: 90", 'unexpected key "timeout-minute"'),
    "shell bug in a run: script": (
        "touch .venv/.installed; fi",
        "touch .venv/.installed",
        "shellcheck reported issue",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_workflow_fails_make_lint_workflows(tmp_path: Path, case: str) -> None:
    original, broken, reported = BREAKAGES[case]
    text = (WORKFLOWS / "ci.yml").read_text()
    assert original in text
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    copy = tmp_path / ".github" / "workflows" / "ci.yml"
    copy.write_text(text.replace(original, broken, 1))
    result = _lint(copy)
    assert result.returncode != 0
    assert reported in result.stdout, result.stdout


def test_ci_workflow_runs_every_step_of_ci_run_in_order() -> None:
    declared = re.search(r"^STEPS=\((?P<steps>[^)]*)\)$", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    assert declared is not None
    (job,) = _workflow("ci.yml")["jobs"].values()
    run = [step["run"].split() for step in _steps(job) if step.get("run", "").startswith(".ci/run")]
    assert [args for args in run if len(args) != 2] == []
    assert [args[1] for args in run] == declared["steps"].split()
    assert job["timeout-minutes"] <= 90


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_every_action_is_pinned_to_a_commit_with_its_release_named(name: str) -> None:
    uses = [SHA_PIN.match(line) for line in (WORKFLOWS / name).read_text().splitlines() if "uses:" in line]
    assert uses, name
    for match in uses:
        assert match is not None
        assert re.fullmatch(r"[0-9a-f]{40}", match["ref"]), f"{match['action']} is not pinned to a commit"
        assert match["comment"] and re.fullmatch(r"v\d+\.\d+\.\d+", match["comment"]), match.group(0)


def _cache_key_files(step: dict[str, Any]) -> set[str]:
    found = re.search(r"hashFiles\((?P<files>[^)]*)\)", step["with"]["key"])
    assert found is not None
    return {f.strip().strip("'") for f in found["files"].split(",")}


def _make_prerequisites(target: str) -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{re.escape(target)}: (?P<files>.*)$", makefile, re.MULTILINE)
    assert found is not None
    return set(found["files"].split())


def test_cache_keys_hash_the_files_the_makefile_installs_from() -> None:
    """The workflow marks a restored install current; that is right only if its key covers every input."""
    (job,) = _workflow("ci.yml")["jobs"].values()
    caches = {step["with"]["path"]: step for step in _steps(job) if "actions/cache@" in step.get("uses", "")}
    assert _cache_key_files(caches[".venv"]) == _make_prerequisites("$(VENV)/.installed")
    assert _cache_key_files(caches["node_modules"]) == _make_prerequisites("node_modules/.installed")
    assert _cache_key_files(caches[".venv-checkov"]) == _make_prerequisites("$(CHECKOV_VENV)/.installed")
    localstack = _make_prerequisites("$(LOCALSTACK_VENV)/.installed")
    assert "requirements-localstack.txt" in localstack
    assert _cache_key_files(caches[".local/localstack"]) == {
        "requirements-localstack.txt",
        "tools/localstack_host_executor/**",
    }


DEPLOY_JOBS = {"deploy-sandbox": "sandbox", "deploy-prod": "prod"}  # job -> the stage it deploys


def _stage_config(stage: str) -> Any:
    """The stage as the workflow's CDK_ARGS configure it (with an account: a GitHub-deployed stage names one)."""
    key, value = _workflow("deploy.yml")["env"]["CDK_ARGS"].removeprefix("-c ").split("=", 1)
    assert value == "${{ github.repository }}"
    return load_stage(stage, {key: "my-org/my-app", "account": "111111111111"})


def test_deploy_workflow_uses_oidc_and_no_stored_keys() -> None:
    workflow = _workflow("deploy.yml")
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "secrets." not in text and "aws-access-key-id" not in text
    assert workflow["permissions"] == {"contents": "read"}  # no OIDC token unless a job asks for one
    for job in workflow["jobs"].values():
        assert job["permissions"]["id-token"] == "write"
        (login,) = [s for s in _steps(job) if "configure-aws-credentials@" in s.get("uses", "")]
        assert login["with"]["role-to-assume"].startswith("${{ vars.AWS_")


def test_each_deploy_job_runs_in_its_stage_environment_on_pushes_to_main() -> None:
    """The deploy role trusts `sub` repo:O/N:environment:<environment> and ref refs/heads/<branch>: a job gets
    it only by naming the environment the stage's config binds, on that branch."""
    jobs = _workflow("deploy.yml")["jobs"]
    assert {name for name in jobs if name.startswith("deploy")} == set(DEPLOY_JOBS)
    for name, stage in DEPLOY_JOBS.items():
        job, github = jobs[name], _stage_config(stage).github
        assert job["environment"] == github.environment == stage
        assert job["env"]["STAGE"] == stage and job["env"]["AWS_REGION"] == _stage_config(stage).region
        assert f"github.ref == '{github.deploy_ref}'" in job["if"] and "github.event_name == 'push'" in job["if"]
        assert f"vars.AWS_{stage.upper()}_DEPLOY_ROLE_ARN" in job["if"]
        assert [s["run"] for s in _steps(job) if "make deploy" in s.get("run", "")] == [
            'make deploy STAGE="$STAGE" CDK_ARGS="$CDK_ARGS --require-approval never"'
        ]  # without a terminal the CLI refuses broadening changes unless told not to ask
        assert job["concurrency"] == {"group": f"deploy-{stage}", "cancel-in-progress": False}
    assert jobs["deploy-prod"]["needs"] == "deploy-sandbox"


def test_pull_requests_diff_with_the_diff_role_in_no_environment() -> None:
    """No environment: the token's subject is repo:O/N:pull_request, the diff role's; the diff is computed
    from templates (DescribeStacks, GetTemplate), all that role may do."""
    job = _workflow("deploy.yml")["jobs"]["diff"]
    assert "environment" not in job
    assert "github.event_name == 'pull_request'" in job["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    (login,) = [s for s in _steps(job) if "configure-aws-credentials@" in s.get("uses", "")]
    assert login["with"]["role-to-assume"] == "${{ vars.AWS_SANDBOX_DIFF_ROLE_ARN }}"
    diff_runs = " ".join(s.get("run", "") for s in _steps(job))
    assert 'make diff-deployed STAGE="$STAGE" DIFF_METHOD=template' in diff_runs and "gh pr comment" in diff_runs
    assert job["env"]["STAGE"] == "sandbox" and job["env"]["AWS_REGION"] == _stage_config("sandbox").region
    assert _stage_config("sandbox").github.pull_request_diff


def test_no_other_trigger_can_reach_the_deploy_jobs() -> None:
    """pull_request_target, issue_comment, workflow_run, schedule and workflow_dispatch runs on main would
    carry ref refs/heads/main; this workflow starts on pushes and pull requests only."""
    assert _workflow("deploy.yml")[True] == {"push": {"branches": ["main"]}, "pull_request": None}
