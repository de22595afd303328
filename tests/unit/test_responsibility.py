"""The responsibility values (services/summary/responsibility.py): the legevakt table's entries and
its one legevakt per municipality, stored enrolments, and opening hours as JSON read back the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from services.summary.escalation_routing import FollowUpEnrolment, Legevakt, OpeningHours, OpeningInterval
from services.summary.responsibility import (
    MAX_LEGEVAKT_MUNICIPALITIES,
    Enrolment,
    LegevaktEntry,
    hours_from_json,
    hours_of_stored,
    hours_to_json,
    legevakt_table,
)

BODØ_LV = LegevaktEntry("910000039", "Bodø interkommunale legevakt", "116117", ("1804", "1838"))
BÆRUM_LV = LegevaktEntry("910000063", "Bærum legevakt", "116117", ("3201",))


def test_an_inter_municipal_legevakt_serves_each_of_its_municipalities():
    assert legevakt_table([BODØ_LV, BÆRUM_LV]) == {
        "1804": Legevakt("910000039", "Bodø interkommunale legevakt"),
        "1838": Legevakt("910000039", "Bodø interkommunale legevakt"),
        "3201": Legevakt("910000063", "Bærum legevakt"),
    }
    with pytest.raises(ValueError, match="municipality 1838 is served by 910000039 and 910000063"):
        legevakt_table([BODØ_LV, LegevaktEntry("910000063", "Bærum legevakt", "116117", ("3201", "1838"))])


@pytest.mark.parametrize(
    ("orgnr", "phone", "numbers"),
    [
        ("910000038", "116117", ("1804",)),  # wrong check digit
        ("910000039", "", ("1804",)),
        ("910000039", "116 117", ("1804",)),
        ("910000039", "116117", ()),
        ("910000039", "116117", ("1804", "1804")),
        ("910000039", "116117", ("180",)),
        ("910000039", "116117", tuple(f"{n:04d}" for n in range(MAX_LEGEVAKT_MUNICIPALITIES + 1))),
    ],
)
def test_a_malformed_legevakt_entry_is_refused(orgnr, phone, numbers):
    with pytest.raises(ValueError):
        LegevaktEntry(orgnr, "Legevakt", phone, numbers)


def test_opening_hours_are_read_back_from_their_json_as_written():
    hours = OpeningHours(
        (OpeningInterval(0, 8 * 60, 15 * 60 + 30), OpeningInterval(6, 0, 24 * 60)),
        frozenset({date(2026, 12, 24), date(2026, 12, 25)}),
    )
    assert hours_of_stored(hours_to_json(hours)) == hours
    assert hours_from_json([{"weekday": d, "start": "08:00", "end": "15:30"} for d in range(5)]) == (
        OpeningHours.weekdays(time(8), time(15, 30))
    )


@pytest.mark.parametrize("start", ["8:00", "08:60", "25:00", "08-00", "ab:cd"])
def test_a_malformed_time_of_day_is_refused(start):
    with pytest.raises(ValueError):
        hours_from_json([{"weekday": 0, "start": start, "end": "16:00"}])


def test_an_enrolment_names_a_valid_team_and_health_person_and_ends_after_it_started():
    hours = OpeningHours.weekdays(time(8), time(16))
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    Enrolment("fu-1", "28863830070", FollowUpEnrolment("910000136", hours, start), "990000105")
    with pytest.raises(ValueError):
        Enrolment("fu-1", "28863830070", FollowUpEnrolment("910000137", hours, start), "990000105")
    with pytest.raises(ValueError):
        Enrolment("fu-1", "28863830070", FollowUpEnrolment("910000136", hours, start), "hpr")
    with pytest.raises(ValueError):
        Enrolment(
            "fu-1", "28863830070", FollowUpEnrolment("910000136", hours, start, start.replace(day=4)), "990000105"
        )
