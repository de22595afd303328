"""When NEWS2 is given: age 16 on the Norwegian day of the measurement, and not in pregnancy."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.summary.news2 import Risk, score_news2
from services.summary.vitals import Assessment, Measurement, NotScored, age_on, assess, news2_applies
from tests.fixtures.samples import NORMAL_OBSERVATION

BORN = date(2008, 10, 22)


@pytest.mark.parametrize(
    ("day", "age"),
    [(date(2024, 10, 21), 15), (date(2024, 10, 22), 16), (date(2025, 1, 1), 16)],
)
def test_age_on(day: date, age: int) -> None:
    assert age_on(BORN, day) == age


def test_leap_day_birthday_counts_from_first_of_march() -> None:
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


def test_news2_applies_from_the_sixteenth_birthday_in_oslo_time() -> None:
    # 22:30 UTC on 21 October is already 22 October in Oslo (CEST, +2).
    assert news2_applies(BORN, datetime(2024, 10, 21, 22, 30, tzinfo=UTC))
    assert not news2_applies(BORN, datetime(2024, 10, 21, 21, 30, tzinfo=UTC))


NORMAL = NORMAL_OBSERVATION
# Scores 3 + 2 = 5 (medium, red score).
UNWELL = replace(NORMAL, respiration_rate=26, on_oxygen=True)
CET = timezone(timedelta(hours=1))


def assessed(at: datetime, born: date = BORN, pregnant: bool = False) -> Assessment:
    return assess(Measurement(measured_at=at, observation=UNWELL, pregnant=pregnant), born)


@pytest.mark.parametrize(
    ("at", "not_scored"),
    [
        # Oslo is on summer time (+2) on 21/22 October 2024.
        (datetime(2024, 10, 20, 12, 0, tzinfo=UTC), NotScored.UNDER_16),  # two days before
        (datetime(2024, 10, 21, 21, 59, 59, tzinfo=UTC), NotScored.UNDER_16),  # 23:59:59 on the 21st in Oslo
        (datetime(2024, 10, 21, 22, 0, tzinfo=UTC), None),  # midnight in Oslo: the birthday
        (datetime(2024, 10, 22, 12, 0, tzinfo=UTC), None),
        (datetime(2024, 10, 23, 0, 30, tzinfo=UTC), None),  # the day after
        # An offset other than Oslo's names the same instant: 23:30 at +01:00 is 00:30 in Oslo.
        (datetime(2024, 10, 21, 23, 30, tzinfo=CET), None),
        (datetime(2024, 10, 21, 22, 30, tzinfo=CET), NotScored.UNDER_16),
    ],
)
def test_under_16_on_the_norwegian_day_of_the_measurement(at: datetime, not_scored: NotScored | None) -> None:
    assessment = assessed(at)
    assert assessment.not_scored is not_scored
    assert (assessment.result is None) is (not_scored is not None)


def test_the_birthday_in_winter_time_starts_at_23_utc() -> None:
    born = date(2009, 1, 15)
    assert assessed(datetime(2025, 1, 14, 22, 59, tzinfo=UTC), born).not_scored is NotScored.UNDER_16
    assert assessed(datetime(2025, 1, 14, 23, 0, tzinfo=UTC), born).not_scored is None


def test_pregnancy_is_not_scored() -> None:
    assessment = assessed(datetime(2025, 3, 1, 12, 0, tzinfo=UTC), born=date(1995, 6, 1), pregnant=True)
    assert assessment == Assessment(result=None, not_scored=NotScored.PREGNANT)


def test_under_16_is_the_reason_when_both_apply() -> None:
    assessment = assessed(datetime(2024, 10, 20, 12, 0, tzinfo=UTC), pregnant=True)
    assert assessment == Assessment(result=None, not_scored=NotScored.UNDER_16)


def test_otherwise_the_measurement_is_scored() -> None:
    assessment = assessed(datetime(2025, 3, 1, 12, 0, tzinfo=UTC), born=date(1950, 6, 1))
    assert assessment.not_scored is None
    assert assessment.result == score_news2(UNWELL)
    assert (assessment.result.total, assessment.result.risk, assessment.result.red_score) == (5, Risk.MEDIUM, True)
