"""The cache publisher's function as deployed (its staged asset, the Lambda package set, its template's environment,
its calls checked against its role), sent what its synthesized state machine sends it: the path check of a whole
request, then one fetch per path. Each answer is read against what the state machine does with it (its catchers,
its retriers, its choice on the result)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.publisher_backend import PublisherBackend
from tests.support.role_policy import Permission
from tests.support.stepfunctions import Definition, NotModelled, State, task_events
from tests.support.variants import WEB_ORIGIN_NAME


def _retried(state: State) -> set[str]:
    return {error for retrier in state.body.get("Retry", []) for error in retrier["ErrorEquals"]}


def _caught(state: State) -> set[str]:
    return {error for catcher in state.body.get("Catch", []) for error in catcher["ErrorEquals"]}


def test_the_template_s_origin_url_is_the_web_stack_s_load_balancer_standing_in_locally(
    publisher: PublisherBackend,
) -> None:
    environment = publisher.worker.environment.template
    assert environment["ORIGIN_URL"] == publisher.origin.url == f"http://{publisher.origin.address}"
    assert environment["CACHE_BUCKET"] == publisher.bucket
    assert "ORIGIN_TLS_NAME" not in environment  # the shipped stages reach the load balancer over HTTP


def test_a_request_of_page_paths_passes_the_check_without_a_call_or_a_fetch(publisher: PublisherBackend) -> None:
    fetched = len(publisher.origin.received)
    invocation = publisher.validate(["/news/today", "/", "/caf%C3%A9"])
    assert invocation.result == {"result": "valid", "paths": "3"}
    assert invocation.calls == []
    assert len(publisher.origin.received) == fetched


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        (["/news/today", "/*", "news"], r"paths: 2 of 3 are no cacheable page path \('/\*', 'news'\)"),
        (["/news/*"], r"paths: 1 of 1 are no cacheable page path \('/news/\*'\)"),
        ([], "paths: a non-empty list of page paths is required"),
        ("/news/today", "paths: a non-empty list of page paths is required"),
    ],
    ids=["a-wildcard-and-a-relative-path", "a-wildcard-below", "none", "not-a-list"],
)
def test_a_request_with_one_bad_path_fails_whole_with_the_error_the_state_machine_fails_on(
    publisher: PublisherBackend, paths: Any, message: str
) -> None:
    invocation = publisher.validate(paths, expect_error=True)
    assert invocation.error is not None
    assert invocation.error["errorType"] == "InvalidPath"
    assert invocation.error["errorMessage"].startswith(message.replace("\\", ""))
    check = publisher.task("ValidatePaths")
    assert "InvalidPath" in _caught(check)
    assert not _retried(check) & {"InvalidPath", "States.ALL", "States.TaskFailed"}
    assert invocation.calls == []


def test_a_request_larger_than_a_batch_sends_the_check_all_paths_and_each_path_one_fetch(
    publisher: PublisherBackend,
) -> None:
    """The events come from the definition: its distributed Map batches the paths (ItemBatcher), each batch's
    inner Map selects one path per fetch (ItemSelector), and the fetch task sends {"path": ...}."""
    paths = [f"/news/{i}" for i in range(250)]
    events = publisher.events(paths)
    assert events["ValidatePaths"] == [{"validate": paths}]
    assert events["FetchAndStorePage"] == [{"path": path} for path in paths]


def test_the_events_are_refused_where_a_state_on_the_way_would_change_the_input() -> None:
    asl = {
        "StartAt": "Reshape",
        "States": {
            "Reshape": {"Type": "Pass", "Parameters": {"other.$": "$.paths"}, "Next": "Invoke"},
            "Invoke": {"Type": "Task", "Resource": "${Token[0]}", "Parameters": {"validate.$": "$.paths"}, "End": True},
        },
    }
    definition = Definition("Machine", asl, [{"Fn::GetAtt": ["Function", "Arn"]}])
    with pytest.raises(NotModelled, match="Invoke: every way to it passes a state that changes its input"):
        task_events(definition, "Function", {"paths": ["/"]})


def test_a_page_is_fetched_from_the_load_balancer_and_stored_under_pages(publisher: PublisherBackend) -> None:
    invocation = publisher.publish("/news/today")
    assert invocation.result == {"path": "/news/today", "key": "pages/news/today", "result": "stored"}
    assert publisher.origin.received[-1].path == "/news/today"  # the plain path: nothing to miss a cache, no token
    assert publisher.origin.received[-1].host == publisher.origin.address  # the load balancer's own name
    stored = publisher.stored("pages/news/today")
    assert stored["Body"].read() == b"<h1>Today</h1>"
    assert (stored["ContentType"], stored["CacheControl"]) == ("text/html; charset=utf-8", "max-age=60")
    assert [(c["operation"], c["params"]["Bucket"], c["params"]["Key"]) for c in invocation.calls] == [
        ("PutObject", publisher.bucket, "pages/news/today")
    ]


def test_a_page_the_origin_no_longer_has_takes_the_state_machine_s_delete_branch_with_its_key(
    publisher: PublisherBackend,
) -> None:
    invocation = publisher.publish("/gone")
    assert invocation.result == {"path": "/gone", "key": "pages/gone", "result": "not_found"}
    assert invocation.calls == []
    fetch = publisher.task("FetchAndStorePage")
    choice = fetch.siblings[fetch.body["Next"]]
    (branch,) = [c for c in choice["Choices"] if c.get("StringEquals") == invocation.result["result"]]
    assert branch["Variable"] == "$.result"
    delete = fetch.siblings[branch["Next"]]
    assert delete["Resource"].endswith(":s3:deleteObject") and delete["Parameters"]["Key.$"] == "$.key"


@pytest.mark.parametrize("path", ["/busy", "/slow-down"])
def test_a_throttled_or_failing_origin_raises_what_the_state_machine_retries(
    publisher: PublisherBackend, path: str
) -> None:
    invocation = publisher.publish(path, expect_error=True)
    assert invocation.error is not None and invocation.error["errorType"] == "RetryableOriginError"
    assert "RetryableOriginError" in _retried(publisher.task("FetchAndStorePage"))
    assert invocation.calls == []


@pytest.mark.parametrize("path", ["/moved", "/private"])
def test_redirects_and_other_refusals_are_recorded_as_failed_paths_without_a_retry(
    publisher: PublisherBackend, path: str
) -> None:
    invocation = publisher.publish(path, expect_error=True)
    assert invocation.error is not None and invocation.error["errorType"] == "UnpublishableResponse"
    fetch = publisher.task("FetchAndStorePage")
    assert "UnpublishableResponse" not in _retried(fetch) and "States.ALL" not in _retried(fetch)
    assert "States.ALL" in _caught(fetch)
    assert f"pages{path}" not in publisher.stored_keys()


def test_the_role_puts_pages_under_pages_and_nothing_else(publisher: PublisherBackend) -> None:
    policy, bucket = publisher.worker.policy, f"arn:aws:s3:::{publisher.bucket}"
    assert policy.allows(Permission("s3:PutObject", f"{bucket}/pages/news/today"))
    assert not policy.allows(Permission("s3:PutObject", f"{bucket}/index.html"))
    assert not policy.allows(Permission("s3:PutObject", f"{bucket}/pagesX/news"))
    assert not policy.allows(Permission("s3:GetObject", f"{bucket}/pages/news/today"))
    assert not policy.allows(Permission("s3:DeleteObject", f"{bucket}/pages/news/today"))
    other = next(b for logical_id, b in publisher.stand_ins.buckets.items() if b != publisher.bucket)
    assert not policy.allows(Permission("s3:PutObject", f"arn:aws:s3:::{other}/pages/news/today"))


def test_over_https_the_certificate_must_cover_the_template_s_name_in_lambda_s_trust_store(
    https_publisher: PublisherBackend,
) -> None:
    """The load balancer's certificate is for the user's name, checked with the trust store the function has: a
    certificate of a CA Lambda does not trust is refused, as a retryable error, and nothing is stored."""
    environment = https_publisher.worker.environment.template
    assert environment["ORIGIN_URL"] == f"https://{https_publisher.origin.address}"
    assert environment["ORIGIN_TLS_NAME"] == WEB_ORIGIN_NAME
    invocation = https_publisher.publish("/news/today", expect_error=True)
    assert invocation.error is not None and invocation.error["errorType"] == "RetryableOriginError"
    assert "CERTIFICATE_VERIFY_FAILED" in invocation.error["errorMessage"]
    assert https_publisher.origin.server_names[-1] == WEB_ORIGIN_NAME  # the name asked for in the handshake
    assert https_publisher.origin.received == [] and https_publisher.stored_keys() == []
