"""Follow-up enrolments on the wire (services/summary/convert.py, docs/escalation.md "API"): opening
hours read into the core's OpeningHours (weekday 1-7 on the wire, 0-6 in the core; every refusal a
violation of `opening_hours`), and a stored enrolment written back."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest

from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import escalation_pb2 as E
from samhandling.summary.v1 import summary_pb2
from services.summary import convert
from services.summary.escalation_routing import FollowUpEnrolment, OpeningHours, OpeningInterval
from services.summary.responsibility import Enrolment
from tests.fixtures.escalation import FOLLOW_UP_TEAM, PATIENT, T0

WEEKDAYS = E.OpeningHours(
    intervals=[E.OpeningInterval(weekday=d, start_minute=480, end_minute=930) for d in range(1, 6)],
    closed_dates=[common_pb2.Date(year=2026, month=12, day=24)],
)


def request(hours: E.OpeningHours | None) -> E.EnrolFollowUpRequest:
    return E.EnrolFollowUpRequest(patient_id=PATIENT, request_id="e-1", team_name="Team", opening_hours=hours)


def test_weekdays_on_the_wire_are_the_cores_weekdays_one_later():
    hours, problems = convert.opening_hours_from_proto(request(WEEKDAYS), T0)
    assert problems == {}
    assert hours == OpeningHours.weekdays(time(8), time(15, 30), closed_days=(date(2026, 12, 24),))
    sunday, _ = convert.opening_hours_from_proto(
        request(E.OpeningHours(intervals=[E.OpeningInterval(weekday=7, start_minute=0, end_minute=1440)])), T0
    )
    assert sunday == OpeningHours((OpeningInterval(6, 0, 1440),))


@pytest.mark.parametrize(
    ("hours", "problem"),
    [
        (None, "required: when the team is open"),
        (E.OpeningHours(), "opening hours need at least one interval"),
        (
            E.OpeningHours(intervals=[E.OpeningInterval(weekday=8, start_minute=0, end_minute=60)]),
            "weekday must be 1 (Monday) to 7 (Sunday)",
        ),
        (
            E.OpeningHours(intervals=[E.OpeningInterval(weekday=1, start_minute=600, end_minute=600)]),
            "an opening interval runs from a start to a later end within one day",
        ),
        (
            E.OpeningHours(intervals=[E.OpeningInterval(weekday=1, start_minute=0, end_minute=1441)]),
            "an opening interval runs from a start to a later end within one day",
        ),
        (
            E.OpeningHours(intervals=[E.OpeningInterval(weekday=1, start_minute=0, end_minute=60)] * 29),
            "at most 28 intervals and 400 closed days",
        ),
        (
            E.OpeningHours(
                intervals=[E.OpeningInterval(weekday=1, start_minute=0, end_minute=60)],
                closed_dates=[common_pb2.Date(year=2026, month=13, day=1)],
            ),
            "a closed date is not a calendar date",
        ),
    ],
)
def test_opening_hours_the_core_refuses_are_a_violation_of_opening_hours(hours, problem):
    assert convert.opening_hours_from_proto(request(hours), T0) == (None, {"opening_hours": problem})


def test_hours_closed_on_every_open_day_within_the_search_are_refused():
    # Open Mondays only, every Monday of the next 400 days closed: never open.
    mondays = [T0.date() + timedelta(days=d) for d in range(400) if (T0.date() + timedelta(days=d)).weekday() == 0]
    hours = E.OpeningHours(
        intervals=[E.OpeningInterval(weekday=1, start_minute=480, end_minute=930)],
        closed_dates=[common_pb2.Date(year=d.year, month=d.month, day=d.day) for d in mondays],
    )
    assert convert.opening_hours_from_proto(request(hours), T0) == (
        None,
        {"opening_hours": "the opening hours give too little open time"},
    )


def test_a_stored_enrolment_is_written_back_with_its_people_and_hours():
    hours, _ = convert.opening_hours_from_proto(request(WEEKDAYS), T0)
    assert hours is not None
    ended_at = T0 + timedelta(days=3)
    stored = Enrolment(
        "fu-1",
        PATIENT,
        FollowUpEnrolment(FOLLOW_UP_TEAM, hours, T0, ended_at),
        "990000105",
        ended_by_hpr="990000101",
        team_name="Team",
        enrolled_by_name="Marte Mottaksen",
        ended_by_name="Lege Legesen",
    )
    written = convert.enrolment_to_proto(stored)
    assert written.opening_hours == WEEKDAYS
    assert (written.enrolment_id, written.patient_id, written.team_orgnr, written.team_name) == (
        "fu-1",
        PATIENT,
        FOLLOW_UP_TEAM,
        "Team",
    )
    assert written.start_time.ToDatetime(tzinfo=UTC) == T0 and written.end_time.ToDatetime(tzinfo=UTC) == ended_at
    assert written.enrolled_by == summary_pb2.Performer(hpr_number="990000105", name="Marte Mottaksen")
    assert written.ended_by == summary_pb2.Performer(hpr_number="990000101", name="Lege Legesen")
    active = convert.enrolment_to_proto(
        Enrolment("fu-2", PATIENT, FollowUpEnrolment(FOLLOW_UP_TEAM, hours, T0), "990000105")
    )
    assert not active.HasField("end_time") and not active.HasField("ended_by")
