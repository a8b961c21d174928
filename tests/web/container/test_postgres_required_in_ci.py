"""Without a PostgreSQL server the tests that need one skip with the reason, except under CI, where they fail."""

from __future__ import annotations

import pytest

from tests.support.postgres import unavailable


@pytest.mark.parametrize("value", ["true", "1"])
def test_under_ci_a_missing_server_fails(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    # BaseException: a skip raised here must fail this test, not skip it.
    with pytest.raises(BaseException, match="PostgreSQL is required under CI=true: initdb failed") as raised:
        unavailable("initdb failed")
    assert raised.type is pytest.fail.Exception


def test_elsewhere_it_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(BaseException, match="initdb failed") as raised:
        unavailable("initdb failed")
    assert raised.type is pytest.skip.Exception


def test_ci_runs_with_ci_set() -> None:
    from tests.support.synth import ROOT

    assert "\nexport CI=true\n" in (ROOT / ".ci" / "run").read_text()
