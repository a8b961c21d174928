"""Every rule of the GitHub deploy-access config, each asserting that the message names the field."""

from __future__ import annotations

import pytest

from stacks.config import STAGES, load_stage
from tests.support.config import assert_rejected

REPO = {"github.repository": "my-org/my-app"}
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def test_no_stage_lets_github_deploy_by_default() -> None:
    assert [name for name in STAGES if load_stage(name).github is not None] == []


def test_one_override_switches_it_on_with_safe_defaults() -> None:
    github = load_stage("sandbox", REPO).github
    assert github is not None
    assert (github.branch, github.pull_request_diff, github.oidc_provider_arn) == ("main", True, None)
    assert github.deploy_subject == "repo:my-org/my-app:ref:refs/heads/main"
    assert github.pull_request_subject == "repo:my-org/my-app:pull_request"


@pytest.mark.parametrize(
    ("repository", "branch"),
    [("octo-org/octo.repo_1", "main"), ("a/b", "release/*"), ("Org9/app", "feature/x-1.2"), ("me/.github", "v2")],
)
def test_valid_repositories_and_branch_patterns(repository: str, branch: str) -> None:
    github = load_stage("prod", {"github.repository": repository, "github.branch": branch}).github
    assert github is not None and github.deploy_subject == f"repo:{repository}:ref:refs/heads/{branch}"


def test_an_existing_provider_can_be_reused() -> None:
    github = load_stage("sandbox", {**REPO, "github.oidc_provider_arn": PROVIDER}).github
    assert github is not None and github.oidc_provider_arn == PROVIDER


INVALID = [
    # (overrides, field named in the message, rule in the message)
    ({"github.branch": "main"}, "github.repository", "Field required"),
    ({"github.repository": "my-app"}, "github.repository", "must be OWNER/NAME"),
    ({"github.repository": "my-org/my-app/extra"}, "github.repository", "must be OWNER/NAME"),
    ({"github.repository": "-org/app"}, "github.repository", "must be OWNER/NAME"),
    ({"github.repository": "my--org/app"}, "github.repository", "must be OWNER/NAME"),
    ({"github.repository": "my org/app"}, "github.repository", "must be OWNER/NAME"),
    ({"github.repository": "org/.."}, "github.repository", "must be OWNER/NAME"),
    ({"github.repository": "org/*"}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.branch": "*"}, "github.branch", "would let every branch deploy"),
    ({**REPO, "github.branch": "*/*"}, "github.branch", "would let every branch deploy"),
    ({**REPO, "github.branch": "refs/heads/main"}, "github.branch", "without refs/heads/"),
    ({**REPO, "github.branch": ""}, "github.branch", "not a valid git branch name"),
    ({**REPO, "github.branch": "feature..x"}, "github.branch", "not a valid git branch name"),
    ({**REPO, "github.branch": "has space"}, "github.branch", "not a valid git branch name"),
    ({**REPO, "github.branch": "what?"}, "github.branch", "not a valid git branch name"),
    ({**REPO, "github.branch": "x.lock"}, "github.branch", "not a valid git branch name"),
    ({**REPO, "github.branch": "/main"}, "github.branch", "not a valid git branch name"),
    ({**REPO, "github.branch": "main/"}, "github.branch", "not a valid git branch name"),
    (
        {**REPO, "github.oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"},
        "github.oidc_provider_arn",
        "ARN of the account's GitHub provider",
    ),
    ({**REPO, "github.max_session_minutes": 30}, "github.max_session_minutes", "greater than or equal to 60"),
    ({**REPO, "github.max_session_minutes": 721}, "github.max_session_minutes", "less than or equal to 720"),
    ({**REPO, "github.pull_request_diff": "maybe"}, "github.pull_request_diff", "valid boolean"),
    ({**REPO, "github.environment": "prod"}, "github.environment", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"), INVALID, ids=[f"{case[1]}-{i}" for i, case in enumerate(INVALID)]
)
def test_invalid_value_names_field_and_rule(overrides: dict[str, object], field: str, rule: str) -> None:
    assert_rejected(overrides, field, rule)


def test_message_shows_the_rejected_value() -> None:
    with pytest.raises(ValueError, match=r"github\.repository: must be OWNER/NAME .* \(got 'my-app'\)"):
        load_stage("sandbox", {"github.repository": "my-app"})


def test_an_override_fills_a_section_a_stage_sets_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """`"github": None` in STAGES means off; `-c github.repository=...` still switches it on."""
    monkeypatch.setitem(STAGES, "sandbox", {**STAGES["sandbox"], "github": None})
    assert load_stage("sandbox").github is None
    github = load_stage("sandbox", REPO).github
    assert github is not None and github.repository == "my-org/my-app"
