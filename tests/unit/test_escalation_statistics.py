"""services/summary/escalation_statistics.py: per Norwegian day and level, nearest-rank median
and 90th percentile of the time to acknowledge, timeouts counted; the day range checked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.summary.escalation_rules import Level
from services.summary.escalation_statistics import (
    DayStatistics,
    EpisodeOutline,
    day_statistics,
    days_violations,
    percentile,
    utc_range,
)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def test_rows_by_norwegian_day_then_level_with_the_acknowledged_times():
    late_evening = datetime(2026, 11, 3, 22, 30, tzinfo=UTC)  # 23:30 in Oslo: Tuesday
    after_midnight = datetime(2026, 11, 3, 23, 30, tzinfo=UTC)  # 00:30 in Oslo: Wednesday
    outlines = [
        EpisodeOutline(late_evening, Level.URGENT, minutes(4), False),
        EpisodeOutline(late_evening, Level.URGENT, minutes(10), True),
        EpisodeOutline(late_evening, Level.URGENT, None, True),
        EpisodeOutline(late_evening, Level.EMERGENCY, minutes(2), False),
        EpisodeOutline(after_midnight, Level.URGENT, None, False),
    ]
    assert day_statistics(outlines) == [
        DayStatistics(date(2026, 11, 3), Level.URGENT, 3, 2, minutes(4), minutes(10), 2),
        DayStatistics(date(2026, 11, 3), Level.EMERGENCY, 1, 1, minutes(2), minutes(2), 0),
        DayStatistics(date(2026, 11, 4), Level.URGENT, 1, 0, None, None, 0),
    ]


def test_nearest_rank_percentiles():
    ten = [minutes(n) for n in range(1, 11)]
    assert (percentile(ten, 0.5), percentile(ten, 0.9)) == (minutes(5), minutes(9))
    assert (percentile([minutes(7)], 0.5), percentile([minutes(7)], 0.9)) == (minutes(7), minutes(7))


def test_the_range_is_at_most_92_days_forwards_in_norwegian_days():
    assert days_violations(date(2026, 1, 1), date(2026, 4, 3)) == {}  # 92 days after
    assert days_violations(date(2026, 1, 1), date(2026, 4, 4)) == {"end_date": "at most 92 days after start_date"}
    assert days_violations(date(2026, 1, 2), date(2026, 1, 1)) == {"end_date": "must not be before start_date"}
    # The last Sunday of March has 23 hours in Oslo.
    first, after = utc_range(date(2026, 3, 29), date(2026, 3, 29))
    assert (first.astimezone(UTC), after - first) == (datetime(2026, 3, 28, 23, tzinfo=UTC), timedelta(hours=23))
