"""One synth for the deploy-access tests: the sandbox stage with GitHub deploys on (through the builder,
as `cdk synth -c github.repository=...` builds it), and the stack alone with every option turned the other way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = "my-org/my-app"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
# The other way round: an existing provider, a branch pattern, no pull-request role, the local Docker build.
OPTIONS = {
    "github.repository": REPOSITORY,
    "github.branch": "release/*",
    "github.pull_request_diff": False,
    "github.oidc_provider_arn": PROVIDER,
    "github.max_session_minutes": 120,
    "web.image_build": "docker",
}
OPTIONS_REGIONS = ("eu-west-1", "us-east-1")


@dataclass
class DeploySynth:
    templates: dict[str, dict[str, Any]]  # "default" (sandbox/GitHubDeploy) and "options"
    regions: dict[str, list[str]]  # regions the sandbox stage's other stacks deploy to
    stacks: dict[str, Any]
    report: dict[str, Any]


@pytest.fixture(scope="session")
def deploy_synth(tmp_path_factory: pytest.TempPathFactory) -> DeploySynth:
    from aws_cdk import App, Environment, Stage

    from stacks.app_builder import build_app
    from stacks.config import load_stage
    from stacks.deploy.stack import GitHubDeployStack
    from tests.support.synth import cdk_context, synth_reporting_nag

    outdir: Path = tmp_path_factory.mktemp("deploy")
    app = App(outdir=str(outdir), context=cdk_context())
    # build_app attaches cdk-nag to the whole app, so the options stage is checked too.
    (sandbox,) = build_app(app, [load_stage("sandbox", {"github.repository": REPOSITORY})])
    config = load_stage("prod", OPTIONS)
    options_stage = Stage(app, "options", env=Environment(region=config.region))
    options = GitHubDeployStack(options_stage, "GitHubDeploy", stage=config, regions=OPTIONS_REGIONS)
    synth_reporting_nag(app)
    assert sandbox.github_deploy is not None
    stacks = {"default": sandbox.github_deploy, "options": options}
    templates = {
        "default": json.loads((outdir / "assembly-sandbox" / sandbox.github_deploy.template_file).read_text()),
        "options": json.loads((outdir / "assembly-options" / options.template_file).read_text()),
    }
    others = [stack for stack in sandbox.all if stack is not sandbox.github_deploy]
    report_file = outdir / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return DeploySynth(templates, {"default": sorted({s.region for s in others})}, stacks, report)
