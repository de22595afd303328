"""NEWS2 trend: the latest scored total against the one before, over points in time order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.summary.trend import SUMMARY_POINTS, Direction, Trend, TrendPoint, news2_trend, scored_points
from services.summary.vitals import Measurement
from tests.fixtures.samples import NORMAL_OBSERVATION

T0 = datetime(2025, 11, 1, 8, 0, tzinfo=UTC)


def series(*totals: int) -> list[TrendPoint]:
    """Points an hour apart, oldest first."""
    return [TrendPoint(T0 + timedelta(hours=i), total) for i, total in enumerate(totals)]


def test_no_points_and_one_point_have_no_direction() -> None:
    assert news2_trend([]) == Trend(direction=None, change=0, points=())
    only = series(5)
    assert news2_trend(only) == Trend(direction=None, change=0, points=tuple(only))


@pytest.mark.parametrize(
    ("totals", "direction", "change"),
    [
        ((2, 5), Direction.WORSENING, 3),
        ((5, 2), Direction.IMPROVING, -3),
        ((4, 4), Direction.STABLE, 0),
        ((0, 20), Direction.WORSENING, 20),
        # Only the latest two count: a long rise then a fall is improving.
        ((0, 3, 6, 9, 7), Direction.IMPROVING, -2),
        ((9, 1, 1), Direction.STABLE, 0),
    ],
)
def test_direction_compares_the_latest_total_with_the_one_before(
    totals: tuple[int, ...], direction: Direction, change: int
) -> None:
    points = series(*totals)
    trend = news2_trend(points)
    assert (trend.direction, trend.change) == (direction, change)
    assert trend.points == tuple(points)


def test_unsorted_points_are_put_in_time_order() -> None:
    oldest, middle, latest = series(1, 6, 3)
    trend = news2_trend([latest, oldest, middle])
    assert trend.points == (oldest, middle, latest)
    assert (trend.direction, trend.change) == (Direction.IMPROVING, -3)


def test_points_order_by_instant_across_offsets() -> None:
    # 12:00 at +02:00 is 10:00 UTC, before 11:00 UTC.
    earlier = TrendPoint(datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), 7)
    later = TrendPoint(datetime(2025, 6, 1, 11, 0, tzinfo=UTC), 2)
    trend = news2_trend([later, earlier])
    assert trend.points == (earlier, later)
    assert trend.direction is Direction.IMPROVING


def test_equal_times_keep_the_given_order_so_the_last_given_is_latest() -> None:
    first, second = TrendPoint(T0, 2), TrendPoint(T0, 6)
    assert news2_trend([first, second]).direction is Direction.WORSENING
    assert news2_trend([second, first]).direction is Direction.IMPROVING


def test_limit_keeps_the_latest_points() -> None:
    points = series(9, 1, 2, 3, 4, 5, 5)
    trend = news2_trend(reversed(points), limit=SUMMARY_POINTS)
    assert trend.points == tuple(points[-5:])
    assert (trend.direction, trend.change) == (Direction.STABLE, 0)
    assert news2_trend(points, limit=1) == Trend(None, 0, (points[-1],))
    assert news2_trend(points[:3], limit=5).points == tuple(points[:3])


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        news2_trend(series(1, 2), limit=limit)


def test_points_need_an_aware_time_and_a_news2_total() -> None:
    with pytest.raises(ValueError, match="timezone"):
        TrendPoint(datetime(2025, 1, 1, 8, 0), 3)
    for total in (-1, 21, 3.0, True):
        with pytest.raises(ValueError, match="total"):
            TrendPoint(T0, total)
    assert TrendPoint(T0, 0).total == 0 and TrendPoint(T0, 20).total == 20


ADULT = date(1950, 5, 1)
CHILD_TURNS_16 = date(2009, 11, 1)  # 16 on 2025-11-01 in Oslo


def measurement(at: datetime, respiration_rate: int = 16, pregnant: bool = False) -> Measurement:
    observation = replace(NORMAL_OBSERVATION, respiration_rate=respiration_rate)
    return Measurement(measured_at=at, observation=observation, pregnant=pregnant)


def test_scored_points_carry_the_news2_total_in_the_given_order() -> None:
    later, earlier = measurement(T0 + timedelta(hours=1), respiration_rate=22), measurement(T0)
    assert scored_points([later, earlier], ADULT) == [TrendPoint(later.measured_at, 2), TrendPoint(T0, 0)]


def test_unscored_measurements_are_left_out_before_the_limit() -> None:
    # Pregnancy and being under 16 give no score, so they are neither points nor counted.
    measurements = [
        measurement(T0 - timedelta(days=1), respiration_rate=30),  # 15 then: not scored
        measurement(T0, respiration_rate=22),  # the 16th birthday: scored 2
        measurement(T0 + timedelta(hours=1), respiration_rate=10),  # scored 1
        measurement(T0 + timedelta(hours=2), respiration_rate=30, pregnant=True),
    ]
    points = scored_points(measurements, CHILD_TURNS_16)
    assert points == [TrendPoint(T0, 2), TrendPoint(T0 + timedelta(hours=1), 1)]
    trend = news2_trend(points, limit=2)
    assert (trend.direction, trend.change) == (Direction.IMPROVING, -1)
