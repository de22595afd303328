"""One date rule for the suite (docs/architecture.md "The request path", step 3, "One date rule"): every age or date rule
counts the date in Norway, so around midnight they agree with each other, in winter (UTC+1)
and in summer time (UTC+2). The clock is injected; nothing here reads the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.consent.decision import GUARDIAN_UNTIL_AGE, represents
from services.consent.domain import Representation, RepresentationKind
from services.platform.actors import Actor
from services.platform.ids import InvalidIdentifier, validate_person_number
from services.platform.norway_date import age_on, day_in_norway, today_in_norway
from services.platform.vocabulary import ActorKind
from services.summary.vitals import NEWS2_MIN_AGE, news2_applies
from tests.fixtures import people


def _clock(moment: datetime):
    return lambda: moment


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2034, 1, 25, 22, 59, tzinfo=UTC), date(2034, 1, 25)),  # 23:59 in Oslo (UTC+1)
        (datetime(2034, 1, 25, 23, 30, tzinfo=UTC), date(2034, 1, 26)),  # 00:30 in Oslo
        (datetime(2024, 10, 21, 21, 59, tzinfo=UTC), date(2024, 10, 21)),  # 23:59 in Oslo (UTC+2)
        (datetime(2024, 10, 21, 23, 30, tzinfo=UTC), date(2024, 10, 22)),  # 01:30 in Oslo
        (datetime(2024, 10, 22, 0, 30, tzinfo=timezone(timedelta(hours=-5))), date(2024, 10, 22)),
    ],
)
def test_the_date_is_the_date_in_norway(moment: datetime, day: date) -> None:
    assert day_in_norway(moment) == day
    assert today_in_norway(_clock(moment)) == day


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        day_in_norway(datetime(2024, 10, 21, 23, 30))


def _guardian_acts(patient: str, born: date, moment: datetime) -> bool:
    guardianship = Representation(
        "rep", patient, people.MIKKEL, RepresentationKind.GUARDIAN, datetime.combine(born, datetime.min.time(), UTC)
    )
    return represents(guardianship, Actor(ActorKind.PATIENT, pid=people.MIKKEL), patient, moment)


@pytest.mark.parametrize(
    ("patient", "born", "last_utc_minute_before_the_birthday_in_oslo"),
    [
        (people.FRIDA, date(2022, 1, 26), datetime(2034, 1, 25, 22, 59, tzinfo=UTC)),  # winter
        (people.ESKIL, date(2008, 10, 22), datetime(2020, 10, 21, 21, 59, tzinfo=UTC)),  # summer time
    ],
)
def test_a_guardian_acts_until_the_twelfth_birthday_in_norway(
    patient, born, last_utc_minute_before_the_birthday_in_oslo
):
    before = last_utc_minute_before_the_birthday_in_oslo
    assert _guardian_acts(patient, born, before)
    # 23:30 UTC the evening before is already the birthday in Norway: the UTC date would say otherwise.
    for later in (before + timedelta(minutes=1), before.replace(hour=23, minute=30)):
        assert age_on(born, day_in_norway(later)) == GUARDIAN_UNTIL_AGE
        assert not _guardian_acts(patient, born, later)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 10, 21, 21, 59, tzinfo=UTC),
        datetime(2024, 10, 21, 22, 0, tzinfo=UTC),
        datetime(2024, 10, 21, 23, 30, tzinfo=UTC),
    ],
)
def test_news2_and_the_guardian_rule_count_the_same_date(moment: datetime) -> None:
    born = validate_person_number(people.ESKIL).birth_date
    sixteen = age_on(born, day_in_norway(moment)) >= NEWS2_MIN_AGE
    assert news2_applies(born, moment) is sixteen
    # The same instant four years earlier decides the guardian's 12th birthday the same way.
    earlier = moment.replace(year=moment.year - (NEWS2_MIN_AGE - GUARDIAN_UNTIL_AGE))
    assert _guardian_acts(people.ESKIL, born, earlier) is not sixteen


def test_a_person_number_born_today_in_norway_is_valid_at_2330_utc_the_day_before() -> None:
    # Born 15 April 2039 (an ordinary number no one has been given): at 23:30 UTC on 14 April it
    # is already 15 April in Norway (summer time), so the number is valid; an hour earlier it is not.
    number = "15043990044"
    at = datetime(2039, 4, 14, 23, 30, tzinfo=UTC)
    assert validate_person_number(number, today=today_in_norway(_clock(at))).birth_date == date(2039, 4, 15)
    with pytest.raises(InvalidIdentifier, match="future"):
        validate_person_number(number, today=today_in_norway(_clock(at - timedelta(hours=2))))
