"""Without a PostgreSQL server the tests that need one skip with the reason, except under CI, where they fail."""

from __future__ import annotations

import pytest

from tests.support.postgres import unavailable


@pytest.mark.parametrize("value", ["true", "1"])
def test_under_ci_a_missing_server_fails(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required under CI=true: initdb failed"):
        unavailable("initdb failed")


def test_elsewhere_it_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="initdb failed"):
        unavailable("initdb failed")


def test_ci_runs_with_ci_set() -> None:
    from tests.support.synth import ROOT

    assert "\nexport CI=true\n" in (ROOT / ".ci" / "run").read_text()
