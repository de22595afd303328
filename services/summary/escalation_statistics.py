"""Statistics of an organisation's escalations per day and level (docs/escalation.md, "API"):
how many opened, how many the organisation acknowledged, the median and 90th percentile of the
time to its acknowledgement, and how many were escalated by a timeout. No patient data: only
times, levels and counts. Pure: no I/O."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.platform.norway_date import NORWAY, day_in_norway

from .escalation_rules import Level

__all__ = ["MAX_STATISTICS_DAYS", "DayStatistics", "EpisodeOutline", "day_statistics", "days_violations", "utc_range"]

# The longest range one request covers: a quarter (92 days after the first day, inclusive).
MAX_STATISTICS_DAYS = 92


@dataclass(frozen=True, slots=True)
class EpisodeOutline:
    """What the statistics read of one escalation the organisation was a target of."""

    opened_at: datetime
    level: Level  # the level it opened at
    acknowledged_after: timedelta | None  # from opening to the organisation's first acknowledgement
    timed_out: bool  # escalated by a timeout at least once


@dataclass(frozen=True, slots=True)
class DayStatistics:
    day: date  # Europe/Oslo
    level: Level
    opened: int
    acknowledged: int
    median_to_acknowledge: timedelta | None
    p90_to_acknowledge: timedelta | None
    timed_out: int


def days_violations(start: date | None, end: date | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if start is not None and end is not None:
        if end < start:
            problems["end_date"] = "must not be before start_date"
        elif (end - start).days > MAX_STATISTICS_DAYS:
            problems["end_date"] = f"at most {MAX_STATISTICS_DAYS} days after start_date"
    return problems


def utc_range(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants from the start of the first Norwegian day to the start of the day after the last."""
    first = datetime.combine(start, time(), NORWAY)
    after = datetime.combine(end + timedelta(days=1), time(), NORWAY)
    # In UTC: an aware subtraction in one zone would count wall-clock time (24 h on a 23-hour day).
    return first.astimezone(UTC), after.astimezone(UTC)


def percentile(ordered: Sequence[timedelta], share: float) -> timedelta:
    """The nearest-rank percentile of values in ascending order (at least one): the smallest
    value with at least `share` of them at or below it."""
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def day_statistics(outlines: Iterable[EpisodeOutline]) -> list[DayStatistics]:
    """One row per day (Europe/Oslo, of opening) and level with any escalation, by day then level."""
    groups: dict[tuple[date, Level], list[EpisodeOutline]] = defaultdict(list)
    for outline in outlines:
        groups[(day_in_norway(outline.opened_at), outline.level)].append(outline)
    rows = []
    for (day, level), members in sorted(groups.items()):
        times = sorted(m.acknowledged_after for m in members if m.acknowledged_after is not None)
        rows.append(
            DayStatistics(
                day=day,
                level=level,
                opened=len(members),
                acknowledged=len(times),
                median_to_acknowledge=percentile(times, 0.5) if times else None,
                p90_to_acknowledge=percentile(times, 0.9) if times else None,
                timed_out=sum(m.timed_out for m in members),
            )
        )
    return rows
