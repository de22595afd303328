"""Vital-sign measurements and whether NEWS2 may score them (docs/summary.md "The patient summary" (NEWS2)). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from services.platform.norway_date import age_on, day_in_norway

from .news2 import News2Result, Observation, score_news2

# A clock a few minutes ahead at the bedside is normal; a measurement later than that is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=5)
# RCP: NEWS2 is not validated for under-16s or in pregnancy.
NEWS2_MIN_AGE = 16


class NotScored(Enum):
    """Why a measurement has no NEWS2; member names match the proto's NOT_SCORED_REASON_* values."""

    UNDER_16 = "UNDER_16"
    PREGNANT = "PREGNANT"


@dataclass(frozen=True)
class Performer:
    """A health person named by HPR number."""

    hpr_number: str
    name: str


@dataclass(frozen=True)
class Measurement:
    """One set of vital signs; the observation carries the patient's SpO2 scale."""

    measured_at: datetime  # timezone-aware
    observation: Observation
    pregnant: bool = False
    measurement_id: str = ""
    measured_by: Performer | None = None
    source_system: str = ""  # client id of the recording system
    source_record_id: str = ""  # the recording system's own id


@dataclass(frozen=True)
class Assessment:
    """NEWS2 of one measurement, or why there is none (exactly one of the two is set)."""

    result: News2Result | None
    not_scored: NotScored | None


def news2_applies(birth_date: date, measured_at: datetime) -> bool:
    """Whether the patient was old enough for NEWS2 on the (Norwegian) day of the measurement."""
    return age_on(birth_date, day_in_norway(measured_at)) >= NEWS2_MIN_AGE


def assess(measurement: Measurement, birth_date: date) -> Assessment:
    """Scores a measurement unless NEWS2 is not validated for the patient then; says why not."""
    if not news2_applies(birth_date, measurement.measured_at):
        return Assessment(None, NotScored.UNDER_16)
    if measurement.pregnant:
        return Assessment(None, NotScored.PREGNANT)
    return Assessment(score_news2(measurement.observation), None)
