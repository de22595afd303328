"""Vital-sign measurements and when NEWS2 may be shown for them (DOMAIN.md §5). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .news2 import Observation

OSLO = ZoneInfo("Europe/Oslo")

# RCP: NEWS2 is not validated for under-16s, so their measurements are shown unscored.
NEWS2_MIN_AGE = 16


@dataclass(frozen=True)
class Measurement:
    """One set of vital signs; the observation carries the patient's SpO2 scale."""

    measured_at: datetime  # timezone-aware
    observation: Observation


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def news2_applies(birth_date: date, measured_at: datetime) -> bool:
    """Whether the patient was old enough for NEWS2 on the (Norwegian) day of the measurement.

    Pregnancy is not recorded here, so it cannot be excluded; the caller's clinician must.
    """
    return age_on(birth_date, measured_at.astimezone(OSLO).date()) >= NEWS2_MIN_AGE
