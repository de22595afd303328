"""bench.paired_ratios: each round's pair gives one ratio; the median's distribution-free interval
and the verdict it supports (no timings)."""

from __future__ import annotations

import pytest

from bench.paired_ratios import interval_coverage, order_statistic, paired


def test_each_round_is_its_own_pair() -> None:
    assert paired([2.0, 3.0], [1.0, 4.0]).ratios == (2.0, 0.75)
    with pytest.raises(ValueError):
        paired([1.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("rounds", "k", "coverage"), [(4, 1, 0.875), (5, 1, 0.9375), (8, 2, 0.9297), (12, 3, 0.9614), (16, 5, 0.9232)]
)
def test_the_interval_is_the_widest_order_statistics_that_cover_the_median_at_90_percent(rounds, k, coverage) -> None:
    assert order_statistic(rounds) == k
    assert interval_coverage(rounds, k) == pytest.approx(coverage, abs=1e-4)


def test_the_interval_drops_the_extremes_and_the_verdict_needs_all_of_it_on_one_side() -> None:
    spread = paired([0.7, 1.05, 1.1, 1.2, 1.25, 1.3, 1.4, 2.5], [1.0] * 8)
    assert spread.interval == (1.05, 1.4) and spread.median == pytest.approx(1.225)
    assert spread.verdict == "faster"
    assert paired([0.9, 1.2, 1.0, 1.1, 0.95, 1.05, 1.0, 1.0], [1.0] * 8).verdict == "as fast within the spread"
    assert paired([0.5, 0.6, 0.7, 0.8, 0.5, 0.6, 0.7, 1.3], [1.0] * 8).verdict == "slower"  # one round above 1
