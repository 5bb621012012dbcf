"""bench/canary_bench.py on a few rollouts: equal versions never fail, a bimodal canary does,
a canary 3 points worse never passes."""

from __future__ import annotations

from bench.canary_sim import STABLE, UNIFORM, Arm, lognormal, simulate


def test_equal_versions_do_not_fail_and_a_bimodal_canary_does() -> None:
    equal = simulate(STABLE, STABLE, rollouts=20, looks=8, seed=0)
    assert (equal.any_fail == 0).all()
    bimodal = 0.5 * lognormal(120 / 1.4, 0.2) + 0.5 * lognormal(120 * 1.4, 0.2)
    bad = simulate(STABLE, Arm(latency=bimodal, predictions=UNIFORM), rollouts=20, looks=8, seed=1)
    assert (bad.any_fail > 0).all()
    assert (bad.first_fail["latency spread"] > 0).all()


def test_a_three_point_worse_canary_never_passes_in_the_bench() -> None:
    worse = Arm(accuracy=0.91, latency=STABLE.latency, predictions=UNIFORM)
    run = simulate(STABLE, worse, rollouts=40, looks=30, seed=2)
    assert (run.first_pass == 0).all()
    assert (run.first_fail["accuracy"] > 0).any()
