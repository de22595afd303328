"""How NEWS2 moves over a patient's scored measurements: the latest total against the one before.

Pure. Only scored measurements make a trend (under-16s and pregnancy have no score), so a
limit such as the summary's "latest 5" counts scored measurements, not recorded ones.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from .vitals import Assessment, Measurement, assess

__all__ = ["SUMMARY_POINTS", "Direction", "Trend", "TrendPoint", "news2_trend", "points_of", "scored_points"]

# The patient summary shows the trend over this many latest scored measurements.
SUMMARY_POINTS = 5


class Direction(enum.Enum):
    """Member names match the proto's TREND_DIRECTION_* values."""

    IMPROVING = "IMPROVING"  # the total went down
    STABLE = "STABLE"
    WORSENING = "WORSENING"  # the total went up


@dataclass(frozen=True, slots=True)
class TrendPoint:
    measured_at: datetime  # timezone-aware, so points from different offsets order as instants
    total: int

    def __post_init__(self) -> None:
        if self.measured_at.utcoffset() is None:
            raise ValueError("measured_at must be timezone-aware")
        if isinstance(self.total, bool) or not isinstance(self.total, int) or not 0 <= self.total <= 20:
            raise ValueError("total must be a NEWS2 total, 0-20")


@dataclass(frozen=True, slots=True)
class Trend:
    direction: Direction | None  # None: fewer than two scored points
    change: int  # latest total minus the previous one; 0 without two points
    points: tuple[TrendPoint, ...]  # oldest first


def news2_trend(points: Iterable[TrendPoint], limit: int | None = None) -> Trend:
    """The trend over the points (in any order), or over the latest `limit` of them.

    Points are ordered by time; points with equal times keep the order they were given in
    (the sort is stable), so of two simultaneous points the one given last counts as latest.
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    ordered = sorted(points, key=lambda point: point.measured_at)
    kept = tuple(ordered if limit is None else ordered[-limit:])
    if len(kept) < 2:
        return Trend(direction=None, change=0, points=kept)
    change = kept[-1].total - kept[-2].total
    if change > 0:
        direction = Direction.WORSENING
    elif change < 0:
        direction = Direction.IMPROVING
    else:
        direction = Direction.STABLE
    return Trend(direction=direction, change=change, points=kept)


def scored_points(measurements: Iterable[Measurement], birth_date: date) -> list[TrendPoint]:
    """One point per measurement NEWS2 scores for this patient; unscored ones are left out."""
    return points_of((measurement, assess(measurement, birth_date)) for measurement in measurements)


def points_of(assessed: Iterable[tuple[Measurement, Assessment]]) -> list[TrendPoint]:
    """scored_points of measurements already assessed (each scored once per read)."""
    return [
        TrendPoint(measured_at=measurement.measured_at, total=assessment.result.total)
        for measurement, assessment in assessed
        if assessment.result is not None
    ]
