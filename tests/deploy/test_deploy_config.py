"""Every rule of the GitHub deploy-access config, each asserting that the message names the field."""

from __future__ import annotations

import pytest

from stage.config import STAGES, load_stage, shared_account_warning
from tests.support.config import assert_rejected

ACCOUNT = {"account": "111111111111"}
REPO = {"github.repository": "my-org/my-app", **ACCOUNT}
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def test_no_stage_lets_github_deploy_by_default() -> None:
    assert [name for name in STAGES if load_stage(name).github is not None] == []


def test_one_override_switches_it_on_with_safe_defaults() -> None:
    config = load_stage("sandbox", REPO)
    github = config.github
    assert github is not None and config.account == "111111111111"
    assert (github.branch, github.pull_request_diff, github.oidc_provider_arn) == ("main", True, None)
    assert (github.environment, github.shared_account) == ("sandbox", False)  # the stage's name
    assert github.deploy_subject == "repo:my-org/my-app:environment:sandbox"
    assert github.deploy_ref == "refs/heads/main"
    assert github.pull_request_subject == "repo:my-org/my-app:pull_request"


def test_each_stage_gets_an_environment_of_its_own_name() -> None:
    github = load_stage("prod", {**REPO, "account": "222222222222"}).github
    assert github is not None and github.deploy_subject == "repo:my-org/my-app:environment:prod"


def test_an_account_given_as_a_number_keeps_its_digits() -> None:
    """`-c account=111111111111` arrives as JSON, a number; an id with a leading 0 stays a string."""
    assert load_stage("sandbox", {"account": 111111111111}).account == "111111111111"
    assert load_stage("sandbox", {"account": "012345678901"}).account == "012345678901"


@pytest.mark.parametrize(
    ("repository", "branch"),
    [("octo-org/octo.repo_1", "main"), ("a/b", "release/*"), ("Org9/app", "feature/x-1.2"), ("me/.github", "v2")],
)
def test_valid_repositories_and_branch_patterns(repository: str, branch: str) -> None:
    github = load_stage("prod", {**REPO, "github.repository": repository, "github.branch": branch}).github
    assert github is not None and github.deploy_subject == f"repo:{repository}:environment:prod"
    assert github.deploy_ref == f"refs/heads/{branch}"


def test_no_branch_leaves_the_ref_to_the_environment() -> None:
    github = load_stage("sandbox", {**REPO, "github.branch": "null"}).github  # -c github.branch=null
    assert github is not None and github.branch is None and github.deploy_ref is None


def test_the_immutable_subject_names_both_ids() -> None:
    ids = {"github.owner_id": 1234, "github.repository_id": 56789, "github.environment": "Production.EU_1"}
    github = load_stage("sandbox", {**REPO, **ids}).github
    assert github is not None
    assert github.deploy_subject == "repo:my-org@1234/my-app@56789:environment:Production.EU_1"
    assert github.pull_request_subject == "repo:my-org@1234/my-app@56789:pull_request"


def test_an_existing_provider_can_be_reused() -> None:
    github = load_stage("sandbox", {**REPO, "github.oidc_provider_arn": PROVIDER}).github
    assert github is not None and github.oidc_provider_arn == PROVIDER


def test_a_shared_account_is_an_explicit_choice_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    unpinned = load_stage("sandbox", {"github.repository": "my-org/my-app", "github.shared_account": True})
    assert unpinned.github is not None and unpinned.account is None
    assert "whatever account its credentials are for" in shared_account_warning(unpinned.facts)
    monkeypatch.setitem(STAGES, "prod", {**STAGES["prod"], "account": "111111111111"})
    shared = load_stage("sandbox", {**REPO, "github.shared_account": True})
    assert "could deploy or destroy the other stage's stacks" in shared_account_warning(shared.facts)


def test_a_stage_may_not_share_the_account_another_stage_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STAGES, "prod", {**STAGES["prod"], "account": "111111111111"})
    assert_rejected(REPO, "account", "is also stage 'prod''s; in one account this stage's deploy role could deploy")
    monkeypatch.setitem(STAGES, "prod", {**STAGES["prod"], "account": "222222222222"})
    assert load_stage("sandbox", REPO).account == "111111111111"


INVALID = [
    # (overrides, field named in the message, rule in the message)
    ({"github.repository": "my-org/my-app"}, "account", "must name its own AWS account"),
    ({**REPO, "account": "12345"}, "account", "String should match pattern"),
    ({**REPO, "account": "1234567890123"}, "account", "String should match pattern"),
    ({"github.branch": "main", **ACCOUNT}, "github.repository", "Field required"),
    ({**REPO, "github.repository": "my-app"}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.repository": "my-org/my-app/extra"}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.repository": "-org/app"}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.repository": "my--org/app"}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.repository": "my org/app"}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.repository": "org/.."}, "github.repository", "must be OWNER/NAME"),
    ({**REPO, "github.repository": "org/*"}, "github.repository", "must be OWNER/NAME"),
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
    ({**REPO, "github.environment": "prod:eu"}, "github.environment", "GitHub escapes ':'"),
    ({**REPO, "github.environment": "prod*"}, "github.environment", "IAM reads '*' and '?' as wildcards"),
    ({**REPO, "github.environment": "my env"}, "github.environment", "letters, digits"),
    ({**REPO, "github.environment": "x" * 256}, "github.environment", "up to 255"),
    ({**REPO, "github.owner_id": 1234}, "github.owner_id", "set owner_id and repository_id, or neither"),
    ({**REPO, "github.repository_id": 5678}, "github.owner_id", "set owner_id and repository_id, or neither"),
    ({**REPO, "github.owner_id": 0, "github.repository_id": 1}, "github.owner_id", "greater than or equal to 1"),
    (
        {**REPO, "github.oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"},
        "github.oidc_provider_arn",
        "ARN of the account's GitHub provider",
    ),
    ({**REPO, "github.max_session_minutes": 30}, "github.max_session_minutes", "greater than or equal to 60"),
    ({**REPO, "github.max_session_minutes": 721}, "github.max_session_minutes", "less than or equal to 720"),
    ({**REPO, "github.pull_request_diff": "maybe"}, "github.pull_request_diff", "valid boolean"),
    ({**REPO, "github.shared_account": "maybe"}, "github.shared_account", "valid boolean"),
    ({**REPO, "github.role_name": "x"}, "github.role_name", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("overrides", "field", "rule"), INVALID, ids=[f"{case[1]}-{i}" for i, case in enumerate(INVALID)]
)
def test_invalid_value_names_field_and_rule(overrides: dict[str, object], field: str, rule: str) -> None:
    assert_rejected(overrides, field, rule)


def test_message_shows_the_rejected_value() -> None:
    with pytest.raises(ValueError, match=r"github\.repository: must be OWNER/NAME .* \(got 'my-app'\)"):
        load_stage("sandbox", {**ACCOUNT, "github.repository": "my-app"})


def test_an_override_fills_a_section_a_stage_sets_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """`"github": None` in STAGES means off; `-c github.repository=...` still switches it on."""
    monkeypatch.setitem(STAGES, "sandbox", {**STAGES["sandbox"], "github": None})
    assert load_stage("sandbox").github is None
    github = load_stage("sandbox", REPO).github
    assert github is not None and github.repository == "my-org/my-app"
