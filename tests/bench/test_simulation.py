"""The analytical capacity model agrees with the event-driven simulation (seeded, about 3 s)."""

from __future__ import annotations

import pytest

from bench.simulation import SIMULATION_TOLERANCE, SimParams, check_against_model, simulate


def test_model_agrees_with_the_simulation_at_full_rate() -> None:
    check = check_against_model()
    assert len(check["rows"]) == 10
    assert "steady function invocations /s" in check["rows"]
    for name, row in check["rows"].items():
        assert abs(row["difference"]) <= SIMULATION_TOLERANCE, (name, row)


def test_simulation_is_deterministic_for_a_seed() -> None:
    p = SimParams(page_views_per_s=2_000, pages=1_000, zipf_s=0.9, ttl_s=1, pops=10, recs=3)
    first, again = simulate(p, warmup_s=1, measure_s=1, seed=3), simulate(p, warmup_s=1, measure_s=1, seed=3)
    assert first["counts"] == again["counts"]
    assert simulate(p, warmup_s=1, measure_s=1, seed=4)["counts"] != first["counts"]


def test_simulated_tiers_never_add_requests() -> None:
    p = SimParams(page_views_per_s=5_000, pages=2_000, zipf_s=0.9, ttl_s=1, pops=20, recs=4, origin_shield=False)
    counts = simulate(p, warmup_s=1, measure_s=2)["counts"]
    assert counts["views"] >= counts["rec_requests"] >= counts["rec_misses"] == counts["fills"] > 0
    assert pytest.approx(counts["views"], rel=0.05) == 10_000
