"""The suite's one date rule: a day is a day in Norway (Europe/Oslo), whatever the server's zone.

Every rule that asks for a date — an age (a guardian's authority, NEWS2's under-16 rule), a birth
date in the future, a service's day, the day of a measurement — takes it from here, so two
services never disagree about the date around midnight (an instant at 23:30 UTC is already the
next day in Norway, 00:30 in winter and 01:30 in summer). Pure; the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

__all__ = ["NORWAY", "age_on", "day_in_norway", "today_in_norway", "utc_now"]

NORWAY = ZoneInfo("Europe/Oslo")


def utc_now() -> datetime:
    """The default clock of the services (timezone-aware)."""
    return datetime.now(UTC)


def day_in_norway(moment: datetime) -> date:
    """The date in Norway at `moment`; a naive time is refused rather than guessed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(NORWAY).date()


def today_in_norway(clock: Callable[[], datetime] = utc_now) -> date:
    """Today in Norway, by `clock` (injected in tests)."""
    return day_in_norway(clock())


def age_on(born: date, day: date) -> int:
    """Completed years on `day`. One born on 29 February has a birthday on 1 March in a common year."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
